"""Callbacks API (issue 5; being built)."""
