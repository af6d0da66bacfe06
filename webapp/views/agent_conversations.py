"""Agent pages for chat and call conversations (issue 5; being built)."""
