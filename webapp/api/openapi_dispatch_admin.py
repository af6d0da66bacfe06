"""OpenAPI paths and schemas of webapp/api/dispatch_admin.py."""
PATHS: dict = {}
SCHEMAS: dict = {}
