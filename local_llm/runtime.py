"""The local GGUF model in-process (llama-cpp-python), behind the `TextModel` port.

Owns this process's llama.cpp instances: lazy, hash-verified loading; a pool of
`concurrency` slots with a deadline per call; pre-emption of background work by
interactive requests; JSON-schema-constrained output, parsed and validated.

Threads: a llama.cpp context is not thread-safe, so each slot owns its own `Llama`
instance and a generation holds its slot until it ends. The instances map the same
GGUF file (mmap), so an extra slot costs its KV cache and compute buffers (tens of MB
for the 0.5B default at 4096 tokens), not another copy of the weights. The default is
one slot: on a 2-core box two generations at once are each half as fast, and the
first agent waiting on a draft would see it.
"""
from __future__ import annotations

import json
import logging
import subprocess  # nosec B404  # runs only this interpreter's own probe
import sys
import threading
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from appliance.ports import ModelBusy, ModelInfo, ModelTimeout, ModelUnavailable
from local_llm import registry

log = logging.getLogger(__name__)

# Background work (enrichment) gives up quickly and is retried by its job; an agent
# waiting on screen waits longer, and background generations yield to it meanwhile.
BACKGROUND_WAIT_S = 2.0
INTERACTIVE_WAIT_S = 30.0
DRAFT_TEMPERATURE = 0.2
_CUT_MARK = "\n[... {n} characters omitted ...]\n"
_CUT_MARK_TOKENS = 12
PROBE_TIMEOUT_S = 120
# Prompt tokens evaluated per llama_decode: the guard runs between batches. 64 stops
# within about a second on one loaded core; on the 2-core box 64 and llama.cpp's 512
# evaluated a 384-token prompt equally fast within the noise, and the logits buffer
# llama-cpp-python allocates (n_batch x 151,936 floats) shrinks from 311 MB to 39 MB.
PROMPT_BATCH = 64


class LlamaTextModel:
    """`appliance.ports.TextModel` over llama-cpp-python; one per process (see
    `appliance.registry.text_model`).

    A call's `timeout_s` (capped by the constructor's) bounds its prompt evaluation and
    generation. Waiting for a slot is bounded separately (BACKGROUND_WAIT_S, then
    ModelBusy; INTERACTIVE_WAIT_S for interactive calls), and so is the one-off load."""

    def __init__(self, model_dir: str, model_name: str = "", threads: int = 2,
                 context: int = 4096, timeout_s: float = 60.0, concurrency: int = 1,
                 batch_threads: int | None = None):
        self.model_dir, self.model_name = str(model_dir), model_name
        self.threads, self.context = threads, context
        # Prompt evaluation is compute-bound and scales with threads; generation is
        # memory-bound, and its spinning threads hurt a shared box (decision 0011).
        self.batch_threads = batch_threads or threads
        self.timeout_s, self.concurrency = float(timeout_s), concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._load_lock = threading.Lock()   # one load at a time (seconds)
        self._lock = threading.Lock()        # the free list and the waiting count (instant)
        self._free: list = []                # loaded instances not generating now
        self._tokenizer = None               # first instance; its vocab is read-only
        self._entry: registry.Entry | None = None
        self._failure: tuple[str, tuple] | None = None   # (reason, registry fingerprint)
        self._waiting_interactive = 0
        self._extra_bufts: bool | None = None  # decided by a probe at the first load

    # --- the port ---------------------------------------------------------------------

    def info(self) -> ModelInfo:
        """Cheap: what is loaded, why loading failed, or the registry's view (no hashing)."""
        failure = self._failure
        if failure is not None and not self._outdated(failure):
            name, sha, path = self._describe()
            return ModelInfo(name, sha, path, available=False, reason=failure[0])
        if self._entry is not None:
            e = self._entry
            return ModelInfo(e.name, e.sha256, str(e.path(self.model_dir)), available=True)
        return registry.status(self.model_dir, self.model_name)

    def warm(self) -> ModelInfo:
        """Load one instance now (worker start-up, tests, bench); raises ModelUnavailable."""
        with self._slot(interactive=True):
            pass
        return self.info()

    def complete_json(self, system: str, user: str, schema: dict, *, max_tokens: int = 256,
                      timeout_s: float = 30.0, interactive: bool = False) -> dict:
        """One JSON object matching `schema` (llama.cpp grammar), temperature 0.
        Raises ValueError when the output is cut short or invalid: the caller retries."""
        started = time.monotonic()
        with self._slot(interactive) as llm:
            guard = self._guard(timeout_s, interactive)
            text = "".join(self._generate(
                llm, system, user, guard, max_tokens=max_tokens, temperature=0.0,
                response_format={"type": "json_object", "schema": schema}))
        log.debug("json completion: %d chars in %.0f ms", len(text),
                  (time.monotonic() - started) * 1000)
        return parse_json(text, schema)

    def stream(self, system: str, user: str, *, max_tokens: int = 512,
               timeout_s: float = 60.0, interactive: bool = True) -> Iterator[str]:
        """Text pieces as they are generated. Lazy: the slot is taken at the first
        `next()` and released when the generator ends or is closed."""
        with self._slot(interactive) as llm:
            guard = self._guard(timeout_s, interactive)
            yield from self._generate(llm, system, user, guard, max_tokens=max_tokens,
                                      temperature=DRAFT_TEMPERATURE)

    # --- tokens -------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's tokenizer once loaded, else an estimate."""
        if self._tokenizer is None:
            return round(sum(_char_cost(c) for c in text))
        return len(self._tokenizer.tokenize(text.encode("utf-8"), add_bos=False))

    def fit_text(self, text: str, max_tokens: int) -> str:
        """`text` cut to about max_tokens: head and tail kept, the cut marked."""
        llm = self._tokenizer
        if llm is None:
            return fit_text(text, max_tokens)
        return fit_text(text, max_tokens,
                        encode=lambda s: llm.tokenize(s.encode("utf-8"), add_bos=False),
                        decode=lambda t: llm.detokenize(t).decode("utf-8", errors="ignore"))

    # --- slots and pre-emption ------------------------------------------------------------

    @contextmanager
    def _slot(self, interactive: bool):
        self._fail_fast()
        if not (self._acquire_interactive() if interactive else self._acquire_background()):
            raise ModelBusy("every model slot is busy; queue the work and retry later")
        try:
            llm = self._take_instance()
            try:
                yield llm
            finally:
                with self._lock:
                    self._free.append(llm)
        finally:
            self._slots.release()

    def _acquire_background(self) -> bool:
        if self._waiting_interactive or not self._slots.acquire(timeout=BACKGROUND_WAIT_S):
            return False
        if self._waiting_interactive:  # an agent started waiting while we did: let it go first
            self._slots.release()
            return False
        return True

    def _acquire_interactive(self) -> bool:
        if self._slots.acquire(blocking=False):
            return True
        with self._lock:
            self._waiting_interactive += 1   # running background generations see this
        try:
            return self._slots.acquire(timeout=INTERACTIVE_WAIT_S)
        finally:
            with self._lock:
                self._waiting_interactive -= 1

    def _guard(self, timeout_s: float, interactive: bool) -> "_Guard":
        limit = min(float(timeout_s), self.timeout_s)
        preempted = None if interactive else (lambda: self._waiting_interactive > 0)
        return _Guard(limit, preempted)

    def _generate(self, llm, system: str, user: str, guard: "_Guard", **options) -> Iterator[str]:
        """Stream internally even for JSON, and check the guard between tokens and
        between prompt batches (see `_guard_decode`): create_chat_completion takes no
        stopping criteria, and an exception in a logits callback is swallowed by ctypes."""
        guard.check()
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        llm.gongdan_guard = guard
        chunks = llm.create_chat_completion(messages=messages, stream=True, **options)
        try:
            for chunk in chunks:
                guard.check()
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        finally:
            chunks.close()  # stops the generation; the instance stays consistent
            llm.gongdan_guard = None

    # --- loading --------------------------------------------------------------------------

    def _take_instance(self):
        # Slots bound the holders, so at most `concurrency` instances are ever loaded:
        # a holder loads only when every existing instance is held by someone else.
        with self._lock:
            if self._free:
                return self._free.pop()
        with self._load_lock:
            self._fail_fast()   # another thread may have failed while we waited
            try:
                llm = self._load()
            except ModelUnavailable as exc:
                if self._tokenizer is not None:   # an extra pool instance (memory?)
                    raise ModelBusy(f"could not load another model instance: {exc}") from None
                self._failure = (str(exc), registry.fingerprint(self.model_dir, self.model_name))
                log.warning("language model unavailable: %s", exc)
                raise
            self._failure = None
            self._tokenizer = self._tokenizer or llm
            return llm

    def _load(self):
        """Verify, then load. The first load re-hashes the file (seconds, once per
        process); further pool instances trust the stamp that hash just wrote."""
        try:
            entry = self._entry or registry.resolve(self.model_dir, self.model_name)
        except registry.RegistryError as exc:
            raise ModelUnavailable(str(exc)) from None
        path = entry.path(self.model_dir)
        before = _file_id(path)
        result = registry.verify(entry, self.model_dir, force=self._entry is None)
        if not result.ok:
            raise ModelUnavailable(result.reason)
        started = time.monotonic()
        llm = self._new_llama(path)
        if _file_id(path) != before:   # replaced between hashing and mapping
            raise ModelUnavailable(f"model file {path} changed while loading; refused")
        self._entry = entry
        log.info("loaded model %s (%s…) in %.1f s", entry.name, entry.sha256[:12],
                 time.monotonic() - started)
        return llm

    def _new_llama(self, path: Path):
        try:
            import llama_cpp  # noqa: F401  (only to fail clearly when it is missing)
        except ImportError as exc:
            raise ModelUnavailable(f"llama-cpp-python is not installed ({exc})") from None
        if self._extra_bufts is None:
            self._extra_bufts = _choose_extra_bufts(path)
        try:
            llm = open_llama(path, extra_bufts=self._extra_bufts, n_ctx=self.context,
                             n_batch=PROMPT_BATCH, n_threads=self.threads,
                             n_threads_batch=self.batch_threads)
        except Exception as exc:  # llama.cpp reports a bad file as ValueError/RuntimeError
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from None
        _guard_decode(llm)
        return llm

    def _fail_fast(self) -> None:
        """Repeat a remembered failure without re-hashing, until the registry or the
        file changes (e.g. the admin ran `gongdan model install`)."""
        failure = self._failure
        if failure is None:
            return
        if not self._outdated(failure):
            raise ModelUnavailable(failure[0])
        self._failure = None

    def _outdated(self, failure: tuple[str, tuple]) -> bool:
        return registry.fingerprint(self.model_dir, self.model_name) != failure[1]

    def _describe(self) -> tuple[str, str, str]:
        try:
            e = self._entry or registry.resolve(self.model_dir, self.model_name)
            return e.name, e.sha256, str(e.path(self.model_dir))
        except registry.RegistryError:
            return self.model_name, "", ""


class _Guard:
    """Deadline and pre-emption, checked between tokens and between prompt batches."""

    def __init__(self, limit_s: float, preempted: Callable[[], bool] | None):
        self.limit_s, self.preempted = limit_s, preempted
        self.deadline = time.monotonic() + limit_s

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise ModelTimeout(f"generation ran past {self.limit_s:g} s; output discarded")
        if self.preempted is not None and self.preempted():
            raise ModelBusy("pre-empted by an interactive request; retry later")


# --- loading llama.cpp safely ----------------------------------------------------------------

def open_llama(path: Path, *, extra_bufts: bool = True, **params):
    """A `Llama` for `path`, chat template from the GGUF (chat_format=None: rendered in
    llama-cpp-python's Jinja sandbox; the file is hash-pinned, so is the template).

    `extra_bufts=False` turns off llama.cpp's extra weight buffers (AMX and repacked
    kernels). Llama() has no argument for it, so the default parameters it starts from
    are patched for this call only (callers hold the load lock)."""
    import llama_cpp.llama_cpp as lib
    from llama_cpp import Llama
    original = lib.llama_model_default_params

    def defaults():
        p = original()
        p.use_extra_bufts = extra_bufts
        return p
    lib.llama_model_default_params = defaults
    try:
        return Llama(model_path=str(path), n_gpu_layers=0, verbose=False, **params)
    finally:
        lib.llama_model_default_params = original


def _choose_extra_bufts(path: Path) -> bool:
    """Run a short evaluation in a child process first: llama.cpp's AMX kernels crash
    some Xeon hosts (segfault in ggml_backend_amx_mul_mat, llama.cpp issue 20824), and
    a crash in the worker itself would kill it at every enrichment. Without the extra
    buffers it is slower but works; if even that crashes, the model is unavailable."""
    for extra in (True, False):
        code = _probe(path, extra)
        if code >= 0:   # ran, or failed with a Python error the real load will report
            if not extra:
                log.warning("llama.cpp crashed with its AMX/repacked kernels on this CPU; "
                            "running without them (slower)")
            return extra
    raise ModelUnavailable(f"llama.cpp crashes evaluating {path} on this machine "
                           f"(signal {-code}); check the llama-cpp-python build")


def _probe(path: Path, extra_bufts: bool) -> int:
    cmd = [sys.executable, "-m", "local_llm.runtime", "--probe", str(path), str(int(extra_bufts))]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S).returncode  # nosec B603  # fixed argv: sys.executable and a model path from the registry
    except subprocess.TimeoutExpired:
        raise ModelUnavailable(f"llama.cpp did not evaluate {path} within "
                               f"{PROBE_TIMEOUT_S} s in a test run") from None


def _probe_main(path: str, extra_bufts: str) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an expected crash leaves no core file
    llm = open_llama(Path(path), extra_bufts=extra_bufts == "1", n_ctx=128, n_batch=64,
                     n_threads=1, n_threads_batch=1)
    llm.eval(llm.tokenize(b"A short batch of several tokens, as a prompt is.", add_bos=False))


def _guard_decode(llm) -> None:
    """Check the running call's guard before every llama_decode: once per generated
    token, and once per PROMPT_BATCH tokens of prompt evaluation, so a long prompt can
    be stopped part-way (a deadline, or an agent's draft pre-empting enrichment).
    `Llama.eval` leaves its state consistent when decode raises: it counts a batch
    only after it ran, and drops stale cache entries at the next call."""
    ctx = getattr(llm, "_ctx", None)
    if ctx is None or not hasattr(ctx, "decode"):
        log.warning("llama-cpp-python without _ctx.decode: prompts are not interruptible")
        return
    decode = ctx.decode

    def guarded(batch):
        guard = getattr(llm, "gongdan_guard", None)
        if guard is not None:
            guard.check()
        return decode(batch)
    ctx.decode = guarded


def _file_id(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


# --- output ---------------------------------------------------------------------------------

def parse_json(text: str, schema: dict) -> dict:
    """The model's JSON text as a dict valid against `schema`, or ValueError."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"model output is not complete JSON ({len(text)} chars; "
                         "max_tokens too small?)") from None
    validate(value, schema)
    if not isinstance(value, dict):
        raise ValueError("model output is not a JSON object")
    return value


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
          "integer": int, "number": (int, float), "null": type(None)}


def validate(value, schema: dict, where: str = "$") -> None:
    """Check the JSON-schema keywords prompts use (type, enum, const, properties,
    required, additionalProperties, items, min/maxItems, min/maxLength, minimum,
    maximum). The grammar already enforces them; this is the belt to its braces."""
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: {value!r} is not one of the allowed values")
    if "const" in schema and value != schema["const"]:
        raise ValueError(f"{where}: must be {schema['const']!r}")
    types = schema.get("type")
    if types is not None:
        wanted = tuple(_TYPES[t] for t in ([types] if isinstance(types, str) else types))
        bool_ok = "boolean" in ([types] if isinstance(types, str) else types)
        if not isinstance(value, wanted) or (isinstance(value, bool) and not bool_ok):
            raise ValueError(f"{where}: expected {types}, got {type(value).__name__}")
    if isinstance(value, dict):
        _validate_object(value, schema, where)
    elif isinstance(value, list):
        _validate_array(value, schema, where)
    elif isinstance(value, str):
        _bounds(len(value), schema.get("minLength"), schema.get("maxLength"), where, "length")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _bounds(value, schema.get("minimum"), schema.get("maximum"), where, "value")


def _validate_object(value: dict, schema: dict, where: str) -> None:
    props = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            raise ValueError(f"{where}: missing '{key}'")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            validate(item, props[key], f"{where}.{key}")
        elif extra is False:
            raise ValueError(f"{where}: unexpected key '{key}'")
        elif isinstance(extra, dict):
            validate(item, extra, f"{where}.{key}")


def _validate_array(value: list, schema: dict, where: str) -> None:
    _bounds(len(value), schema.get("minItems"), schema.get("maxItems"), where, "items")
    if isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{where}[{i}]")


def _bounds(n, low, high, where: str, what: str) -> None:
    if low is not None and n < low:
        raise ValueError(f"{where}: {what} {n} is below {low}")
    if high is not None and n > high:
        raise ValueError(f"{where}: {what} {n} is above {high}")


# --- fitting long ticket text ------------------------------------------------------------------

def fit_text(text: str, max_tokens: int, *, encode: Callable[[str], list] | None = None,
             decode: Callable[[list], str] | None = None) -> str:
    """Keep the head (two thirds: the problem statement) and the tail (one third: the
    latest details) of a text longer than max_tokens, with a visible mark at the cut.
    Uses the model tokenizer when given, else a per-character estimate."""
    budget = max(max_tokens - _CUT_MARK_TOKENS, 2)
    head_n = budget * 2 // 3
    tail_n = budget - head_n
    if encode is not None and decode is not None:
        tokens = encode(text)
        if len(tokens) <= max_tokens:
            return text
        head, tail = decode(tokens[:head_n]), decode(tokens[-tail_n:])
    else:
        if sum(_char_cost(c) for c in text) <= max_tokens:
            return text
        head = text[:_chars_within(text, head_n)]
        tail = text[len(text) - _chars_within(text[::-1], tail_n):]
    omitted = max(len(text) - len(head) - len(tail), 0)
    return head + _CUT_MARK.format(n=omitted) + tail


def _char_cost(ch: str) -> float:
    """Rough tokens per character: CJK about one each, Latin text about four
    characters per token (Qwen's tokenizer is close to both)."""
    if ch.isascii():
        return 0.3
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5


def _chars_within(text: str, tokens: int) -> int:
    cost, n = 0.0, 0
    for ch in text:
        cost += _char_cost(ch)
        if cost > tokens:
            break
        n += 1
    return n


if __name__ == "__main__" and sys.argv[1:2] == ["--probe"]:
    _probe_main(*sys.argv[2:4])
