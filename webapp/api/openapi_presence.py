"""OpenAPI paths and schemas of webapp/api/presence.py."""
PATHS: dict = {}
SCHEMAS: dict = {}
