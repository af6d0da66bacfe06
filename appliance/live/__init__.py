"""Live updates in a process: the hub that fans events out to open streams, and the
back-ends that wake it (docs/decisions/0019-live-updates.md)."""
