"""OpenAPI paths and schemas of webapp/api/supervisor.py."""
PATHS: dict = {}
SCHEMAS: dict = {}
