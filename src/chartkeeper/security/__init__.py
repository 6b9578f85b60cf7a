"""Who is calling and what they may do: identities, roles and SMART scopes, access filters
lowered into SQL, and the hash-chained audit trail. Shells authenticate; this package decides."""
