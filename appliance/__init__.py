"""Gongdan's domain: settings, database, models, services, rules, tasks and the CLI.

Nothing here imports Flask, Whoosh or llama.cpp; back-ends are reached through
the protocols in `appliance.ports` and chosen by `appliance.registry`.
"""

__version__ = "0.2.0"
