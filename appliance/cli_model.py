"""`gongdan model ...`: register, list and choose local GGUF models (hash-pinned)."""
from __future__ import annotations

import click


@click.group()
def model() -> None:
    """Local language models (GGUF files, refused unless their SHA-256 matches)."""
