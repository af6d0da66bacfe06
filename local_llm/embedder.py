"""Sentence vectors from the local GGUF model, behind `appliance.ports.TextEmbedder`.

Owns one llama.cpp context in embedding mode per process: the mean of the last hidden
layer over a text's first `max_tokens` tokens, L2-normalised, stored as float16 bytes.
The triage classifiers use these as semantic features next to TF-IDF (decision 0053):
they carry what a bag of words cannot, e.g. that 大肠癌 is a health question or that a
film title asks for a video, and added 3 points on SMP2017.

Costs (2-core box, 0.5B default): about 45 tokens/s on one thread and 100 on two, so a
64-token ticket takes 0.6-1.4 s. Hence the small token cap (a ticket's routing signal is
in its first lines; the TF-IDF features still read 2,000 characters) and `wait_s`: a
caller that cannot wait gets ModelBusy at once and classifies without vectors.

The context is separate from the generation pool in local_llm.runtime (a context in
embedding mode cannot generate); both map the same verified file, so this one costs its
small compute buffers, not another copy of the weights.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np

from appliance.ports import ModelBusy, ModelUnavailable
from local_llm import registry
from local_llm.runtime import _choose_extra_bufts, _file_id, open_llama

log = logging.getLogger(__name__)

POOLING = "mean"
_POOLING_MEAN = 1           # llama_cpp.LLAMA_POOLING_TYPE_MEAN
_CHARS_PER_TOKEN_MAX = 6    # pre-cut: no need to tokenize a 2,000-character ticket whole


def to_bytes(vector) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float64)


class LlamaEmbedder:
    """`appliance.ports.TextEmbedder` over llama-cpp-python (see module docstring)."""

    def __init__(self, model_dir: str, model_name: str = "", threads: int = 2,
                 max_tokens: int = 64):
        self.model_dir, self.model_name = str(model_dir), model_name
        self.threads, self.max_tokens = threads, max_tokens
        self._lock = threading.Lock()        # a llama.cpp context is not thread-safe
        self._load_lock = threading.Lock()
        self._llm = None
        self._space: str | None = None
        self._failure: tuple[str, tuple] | None = None

    def space(self) -> str:
        """Names the vector space: model file, pooling and token cap. Vectors from
        different spaces are not comparable. Cheap (the registry and the file's
        verification stamp, no hashing); ModelUnavailable when there is no usable model."""
        if self._space is not None:
            return self._space
        info = registry.status(self.model_dir, self.model_name)
        if not info.available:
            raise ModelUnavailable(info.reason)
        return self._space_of(info.sha256)

    def embed(self, texts: list[str], *, wait_s: float = 30.0) -> list[bytes]:
        """One float16 vector (bytes) per text. ModelBusy if the context stays busy
        for `wait_s`, ModelUnavailable if the model cannot be loaded."""
        if not texts:
            return []
        acquired = (self._lock.acquire(timeout=wait_s) if wait_s > 0
                    else self._lock.acquire(blocking=False))
        if not acquired:
            raise ModelBusy("the embedding context is busy")
        try:
            llm = self._loaded()
            cut = self.max_tokens * _CHARS_PER_TOKEN_MAX
            vectors = llm.embed([(t or " ")[:cut] for t in texts], normalize=True, truncate=True)
            return [to_bytes(v) for v in vectors]
        finally:
            self._lock.release()

    def _loaded(self):
        if self._llm is not None:
            return self._llm
        with self._load_lock:
            if self._failure is not None:
                if registry.fingerprint(self.model_dir, self.model_name) == self._failure[1]:
                    raise ModelUnavailable(self._failure[0])
                self._failure = None
            try:
                self._llm, self._space = self._load()
            except ModelUnavailable as exc:
                self._failure = (str(exc), registry.fingerprint(self.model_dir, self.model_name))
                log.warning("embedding model unavailable: %s", exc)
                raise
        return self._llm

    def _load(self):
        try:
            entry = registry.resolve(self.model_dir, self.model_name)
        except registry.RegistryError as exc:
            raise ModelUnavailable(str(exc)) from None
        path = entry.path(self.model_dir)
        before = _file_id(path)
        result = registry.verify(entry, self.model_dir, force=True)
        if not result.ok:
            raise ModelUnavailable(result.reason)
        try:
            import llama_cpp  # noqa: F401  (only to fail clearly when it is missing)
        except ImportError as exc:
            raise ModelUnavailable(f"llama-cpp-python is not installed ({exc})") from None
        started = time.monotonic()
        try:
            # n_batch = the token cap: embed() truncates each text to n_batch tokens, and
            # llama-cpp-python's logits buffer is n_batch x vocabulary floats (39 MB at 64).
            llm = open_llama(path, extra_bufts=_choose_extra_bufts(path), embedding=True,
                             pooling_type=_POOLING_MEAN, n_ctx=self.max_tokens,
                             n_batch=self.max_tokens, n_ubatch=self.max_tokens,
                             n_threads=self.threads, n_threads_batch=self.threads)
        except Exception as exc:  # llama.cpp reports a bad file as ValueError/RuntimeError
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from None
        if _file_id(path) != before:
            raise ModelUnavailable(f"model file {path} changed while loading; refused")
        log.info("loaded embedding context for %s in %.1f s", entry.name,
                 time.monotonic() - started)
        return llm, self._space_of(entry.sha256)

    def _space_of(self, sha256: str) -> str:
        return f"{sha256[:16]}-{POOLING}-{self.max_tokens}"
