"""Blueprints of the server-rendered UI. Views translate; services decide."""
