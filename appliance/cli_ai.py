"""`gongdan ai ...`: train, evaluate, inspect and roll back the triage classifiers."""
from __future__ import annotations

import click


@click.group()
def ai() -> None:
    """AI triage: classifiers that learn from resolved tickets."""
