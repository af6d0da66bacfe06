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


# The local language model: one instance per process, loaded on first use (the web
# app never loads it; LLM calls run in the worker, see docs/decisions/0010).
TEXT_MODEL = "local_llm.runtime:LlamaTextModel"
CLASSIFIER_BACKEND = "local_llm.classifier:SklearnBackend"
TEXT_EMBEDDER = "local_llm.embedder:LlamaEmbedder"


@lru_cache(maxsize=2)
def _text_model(model_dir: str, model_name: str, threads: int, context: int,
                timeout: int, concurrency: int, batch_threads: int):
    return _load(TEXT_MODEL)(model_dir=model_dir, model_name=model_name, threads=threads,
                             context=context, timeout_s=timeout, concurrency=concurrency,
                             batch_threads=batch_threads)


def text_model(settings: Settings):
    return _text_model(settings.model_dir, settings.model_name, settings.llm_threads,
                       settings.llm_context, settings.llm_timeout_seconds,
                       settings.llm_concurrency, settings.llm_batch_threads)


@lru_cache(maxsize=2)
def _text_embedder(model_dir: str, model_name: str, threads: int):
    return _load(TEXT_EMBEDDER)(model_dir=model_dir, model_name=model_name, threads=threads)


def text_embedder(settings: Settings):
    """Sentence vectors from the local model (ports.TextEmbedder), one per process."""
    return _text_embedder(settings.model_dir, settings.model_name, settings.ai_embed_threads)


@lru_cache(maxsize=1)
def classifier_backend():
    return _load(CLASSIFIER_BACKEND)()


def model_registry():
    """The hash-pinned model registry module (local_llm.registry)."""
    return importlib.import_module("local_llm.registry")


def model_status(settings: Settings):
    """Cheap availability of the configured model (ports.ModelInfo), without loading it:
    for /healthz and the UI in web processes, which never load the model."""
    return model_registry().status(settings.model_dir, settings.model_name)


def model_installer():
    """The default model's installer module (local_llm.install), for `gongdan model install`."""
    return importlib.import_module("local_llm.install")


# Pure metric functions (accuracy, F1, calibration, latency) for `gongdan ai eval`.
EVALUATION = "local_llm.evaluation"


def evaluation():
    return importlib.import_module(EVALUATION)


# The outgoing mail relay (ports.Mailer); None when smtp_url is empty: replies then wait
# in the outbox, visible on the ticket, until an administrator configures a relay.
MAILER = "appliance.mail.smtp:SmtpMailer"


def mailer(settings: Settings):
    if not settings.smtp_url:
        return None
    return _load(MAILER)(settings)


# How each process hears of new live events (docs/decisions/0019-live-updates.md): one
# instance per process and settings, shared by writers (notify) and the hub (wait).
LIVE_BACKENDS = {"poll": "appliance.live.backends:PollBackend",
                 "postgres": "appliance.live.backends:PostgresBackend",
                 "redis": "appliance.live.backends:RedisBackend"}


@lru_cache(maxsize=4)
def _live_backend(name: str, settings: Settings):
    return _load(LIVE_BACKENDS[name])(settings)


def live_backend(settings: Settings):
    from appliance.live.backends import backend_name
    return _live_backend(backend_name(settings), settings)


# The knowledge-base article index (ports.KnowledgeIndex), in <index_dir>/kb beside the
# ticket index; one instance per process and folder (it caches its searcher).
KNOWLEDGE_BACKENDS = {"whoosh": "search.knowledge_index:KnowledgeIndex"}


@lru_cache(maxsize=8)
def _knowledge_index(backend: str, index_dir: str):
    return _load(KNOWLEDGE_BACKENDS[backend])(index_dir)


def knowledge_index(settings: Settings):
    return _knowledge_index(settings.search_backend, settings.index_dir)
