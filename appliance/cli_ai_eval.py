"""`gongdan ai eval`: measure a classifier on a labelled file (accuracy, F1, latency)."""
from __future__ import annotations

from appliance.cli_ai import ai  # noqa: F401  (commands below attach to this group)
