"""Public web forms (issue 5; being built)."""
