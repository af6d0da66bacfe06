"""Callbacks (回拨) agents owe customers (issue 5; being built)."""


def remind_due() -> int:
    """Notify agents of callbacks that fell due; returns how many."""
    return 0
