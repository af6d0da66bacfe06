"""Sentence vectors from the local GGUF model, behind `appliance.ports.TextEmbedder`.

Owns two llama.cpp contexts in embedding mode per process and reads each text twice
(decision 0054): the mean of the last hidden layer over the text's first `max_tokens`
tokens, and the last token's hidden state after a one-word framing ("this sentence means
in one word: ...", PromptEOL), each L2-normalised, concatenated and scaled by 1/sqrt(2)
to unit length, stored as float16 bytes. The triage classifiers use these as semantic
features next to TF-IDF (decision 0053): they carry what a bag of words cannot, e.g.
that 大肠癌 is a health question or that a film title asks for a video.

Costs (2-core box, 0.5B default): about 45 tokens/s on one thread and 100 on two; the
two readings of a 64-token ticket are about 150 tokens, 1.5-3 s. Hence the small token
cap (a ticket's routing signal is in its first lines; the TF-IDF features still read
2,000 characters) and `wait_s`: a caller that cannot wait gets ModelBusy at once and
classifies without vectors.

The contexts are separate from the generation pool in local_llm.runtime (a context in
embedding mode cannot generate). All map the same verified file, but each `Llama` owns a
model: each embedding instance adds llama.cpp's repacked weights (~175 MiB, 0054).
"""
from __future__ import annotations

import atexit
import logging
import re
import threading
import time

import numpy as np

from appliance.ports import ModelBusy, ModelUnavailable
from local_llm import registry
from local_llm.runtime import _choose_extra_bufts, _file_id, open_llama

log = logging.getLogger(__name__)

POOLING = "mean+eol"
_POOLING_MEAN = 1           # llama_cpp.LLAMA_POOLING_TYPE_MEAN
_POOLING_LAST = 3           # llama_cpp.LLAMA_POOLING_TYPE_LAST
_FRAME_TOKENS = 32          # room for the framing around a capped text
# PromptEOL (Jiang et al. 2023): the next-token state after this frame summarises the
# sentence. The frame follows the text's language; a mismatched one read worse.
_FRAMES = {"zh": "这句话：“{}”用一个词来说是：“",
           "en": 'This sentence : "{}" means in one word:"'}
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
        self._contexts = None                # (mean context, last-token context)
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
            mean_llm, eol_llm = self._loaded()
            cut = self.max_tokens * _CHARS_PER_TOKEN_MAX
            texts = [(t or " ")[:cut] for t in texts]
            means = mean_llm.embed(texts, normalize=True, truncate=True)
            eols = eol_llm.embed([self._eol_prompt(mean_llm, t) for t in texts],
                                 normalize=True, truncate=True)
            return [to_bytes(np.concatenate([m, e]) / np.sqrt(2)) for m, e in zip(means, eols)]
        finally:
            self._lock.release()

    def close(self) -> None:
        """Frees the contexts (at exit, before the interpreter tears down the modules
        llama-cpp-python's destructors need). Skipped if one is still computing."""
        if not self._lock.acquire(timeout=5):
            return
        try:
            contexts, self._contexts = self._contexts, None
            for llm in contexts or ():
                llm.close()
        finally:
            self._lock.release()

    def _eol_prompt(self, llm, text: str) -> str:
        """The text capped to `max_tokens` tokens inside its language's frame: capping
        first keeps the frame's end, which is what the last-token state reads."""
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) > self.max_tokens:
            text = llm.detokenize(tokens[:self.max_tokens]).decode("utf-8", errors="ignore")
        return _FRAMES[_language(text)].format(text)

    def _loaded(self):
        if self._contexts is not None:
            return self._contexts
        with self._load_lock:
            if self._failure is not None:
                if registry.fingerprint(self.model_dir, self.model_name) == self._failure[1]:
                    raise ModelUnavailable(self._failure[0])
                self._failure = None
            try:
                self._contexts, self._space = self._load()
            except ModelUnavailable as exc:
                self._failure = (str(exc), registry.fingerprint(self.model_dir, self.model_name))
                log.warning("embedding model unavailable: %s", exc)
                raise
        return self._contexts

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
            extra = _choose_extra_bufts(path)
            contexts = (self._open(path, extra, _POOLING_MEAN, self.max_tokens),
                        self._open(path, extra, _POOLING_LAST, self.max_tokens + _FRAME_TOKENS))
        except Exception as exc:  # llama.cpp reports a bad file as ValueError/RuntimeError
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from None
        if _file_id(path) != before:
            raise ModelUnavailable(f"model file {path} changed while loading; refused")
        log.info("loaded embedding contexts for %s in %.1f s", entry.name,
                 time.monotonic() - started)
        atexit.register(self.close)
        return contexts, self._space_of(entry.sha256)

    def _open(self, path, extra_bufts: bool, pooling: int, tokens: int):
        # n_batch = the token cap: embed() truncates each text to n_batch tokens, and
        # llama-cpp-python's logits buffer is n_batch x vocabulary floats (39 MB at 64).
        return open_llama(path, extra_bufts=extra_bufts, embedding=True,
                          pooling_type=pooling, n_ctx=tokens, n_batch=tokens, n_ubatch=tokens,
                          n_threads=self.threads, n_threads_batch=self.threads)

    def _space_of(self, sha256: str) -> str:
        return f"{sha256[:16]}-{POOLING}-{self.max_tokens}"


def _language(text: str) -> str:
    """'zh' when CJK characters are at least as many as Latin words (and there is one)."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk >= max(1, latin) else "en"
