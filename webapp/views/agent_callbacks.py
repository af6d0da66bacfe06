"""Agent pages for callbacks (issue 5; being built)."""
