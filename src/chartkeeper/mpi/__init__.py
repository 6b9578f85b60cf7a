"""Master patient index: find, review, merge and unmerge duplicate patients (docs/mpi.md)."""
