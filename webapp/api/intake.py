"""POST /api/v1/intake/chat and /intake/call (issue 5; being built)."""
