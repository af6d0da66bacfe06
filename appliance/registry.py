"""Chooses concrete back-ends from settings, by dotted path, so that the domain
never imports them directly (the Huey/CTFd pattern)."""
from __future__ import annotations

import importlib
from functools import lru_cache

from appliance.settings import Settings

SEARCH_BACKENDS = {"whoosh": "search.whoosh_index:WhooshIndex"}


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@lru_cache(maxsize=8)
def _search_index(backend: str, index_dir: str):
    return _load(SEARCH_BACKENDS[backend])(index_dir)


def search_index(settings: Settings):
    return _search_index(settings.search_backend, settings.index_dir)
