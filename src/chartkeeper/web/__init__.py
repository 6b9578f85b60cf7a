"""The web workspace (server-rendered pages)."""
