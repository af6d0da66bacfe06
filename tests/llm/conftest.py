"""The real default model for tests/llm, loaded once per session.

Reads the model from TEST_MODEL_DIR (default: var/models in the repository,
the folder `make model` fills, shared with `make run`). Skips only when the model file
is absent; a file that is present but fails its hash is a failure, not a skip.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_llm import registry
from local_llm.runtime import LlamaTextModel

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("TEST_MODEL_DIR") or ROOT / "var" / "models")


@pytest.fixture(scope="session")
def llm_model_dir() -> Path:
    entry = registry.resolve(MODEL_DIR, registry.DEFAULT.entry.name)
    path = entry.path(MODEL_DIR)
    if not path.is_file():
        pytest.skip(f"model file {path} is absent: run `make model` "
                    "(or set TEST_MODEL_DIR)")
    return MODEL_DIR


@pytest.fixture(scope="session")
def text_model(llm_model_dir) -> LlamaTextModel:
    # Small context: the tests' prompts are short, and a smaller KV cache loads faster.
    # One thread: llama.cpp's threads spin-wait on each other, so on a 2-core box shared
    # with other work two threads were up to 10x slower than one (see bench/llm_bench.py).
    model = LlamaTextModel(str(llm_model_dir), registry.DEFAULT.entry.name, threads=1,
                           context=1024, timeout_s=60, concurrency=1)
    info = model.warm()
    assert info.available, info.reason
    return model
