"""Chat and call intake (issue 5; being built)."""
