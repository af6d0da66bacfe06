"""Charset decoding for inbound mail: aliases, guessing and RFC 2047 encoded words.

Owns the rules for turning bytes of unknown or mislabelled encoding into text. Every
function here is pure and total: it returns text plus an optional note of what was
guessed or repaired, and never raises on bad input.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re

# Mail clients label text with the narrowest historical name; decoding with the
# superset keeps characters that the narrow codec would reject (e.g. 镕 in "gb2312").
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "csgb2312": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "big5-hkscs": "big5hkscs", "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "korean": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "euc-jp": "euc_jis_2004",
    # Windows clients send cp1252 bytes (smart quotes) under the ISO label.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
}
# ISO-2022-JP senders use the extensions (half-width kana, JIS X 0212) under the base label.
_ISO2022JP = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3")
_UNDECLARED = {"", "unknown-8bit", "x-unknown", "unknown", "default", "8bit", "x-user-defined"}
# Labels that are often wrong in practice: clients stamp them on utf-8 or gbk text.
_OFTEN_MISLABELLED = {"gb18030", "cp1252", "latin_1", "iso8859-1", "ascii"}
GUESS_ORDER = ("utf-8", "gb18030", "big5hkscs", "cp932", "latin-1")


def canonical_charset(label: str | None) -> str:
    """The codec to use for a declared charset label ('' when undeclared)."""
    name = (label or "").strip().strip("\"'").lower()
    return _ALIASES.get(name, name)


def _codec_name(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return None


def _strict(data: bytes, charset: str) -> str | None:
    candidates = _ISO2022JP if charset.replace("-", "_").startswith("iso2022_jp") else (charset,)
    for codec in candidates:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _is_common_char(ch: str) -> bool:
    """Whether a character is one that real text uses often (a plausibility signal).

    Common hanzi are found by their position in the legacy code tables: GB2312 level 1
    (lead bytes B0-D7) and Big5 frequent characters (A4-C6) hold the characters that
    everyday Chinese text is made of, while mis-decoded bytes land mostly elsewhere.
    """
    code = ord(ch)
    if code < 0x80:
        return ch.isprintable() or ch in "\r\n\t"
    if 0x3000 <= code <= 0x30FF or 0xFF01 <= code <= 0xFF5E or 0xAC00 <= code <= 0xD7A3:
        return True  # CJK punctuation, kana, full-width forms, hangul
    if 0xA0 <= code <= 0x17F or 0x2010 <= code <= 0x2027:
        return True  # Latin-1 letters and typographic punctuation
    for codec, low, high in (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6), ("cp932", 0x88, 0x98)):
        try:
            lead = ch.encode(codec)[0]
        except UnicodeEncodeError:
            continue
        if low <= lead <= high:
            return True
    return False


def plausibility(text: str) -> float:
    """Share of the non-ASCII sample made of common characters (1.0 for pure ASCII)."""
    sample = [ch for ch in text if ord(ch) >= 0x80][:2000]
    if not sample:
        return 1.0
    return sum(1 for ch in sample if _is_common_char(ch)) / len(sample)


def _paired_high_bytes(data: bytes) -> float:
    """Share of bytes >= 0x80 that sit next to another: high in CJK, low in Latin text."""
    data = data[:65536]  # a sample decides; scanning megabytes in Python would be slow
    high = [i for i, b in enumerate(data) if b >= 0x80]
    if not high:
        return 0.0
    paired = sum(1 for i in high
                 if (i > 0 and data[i - 1] >= 0x80) or (i + 1 < len(data) and data[i + 1] >= 0x80))
    return paired / len(high)


def guess_decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown encoding; returns (text, codec chosen).

    UTF-8 wins whenever it decodes (multi-byte UTF-8 is very unlikely by chance);
    otherwise the most plausible strict decoding wins, ties going to the earlier codec.
    """
    best: tuple[float, str, str] | None = None
    for codec in GUESS_ORDER:
        text = _strict(data, codec)
        if text is None:
            continue
        if codec == "utf-8":
            return text, codec
        score = plausibility(text) - (0.5 if codec == "latin-1" else 0.0)
        if best is None or score > best[0]:
            best = (score, text, codec)
    assert best is not None  # latin-1 decodes every byte string  # nosec B101  # invariant, not a check on input
    return best[1], best[2]


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode body or header bytes under a declared charset; returns (text, problem)."""
    if data.isascii() and b"\x1b" not in data:
        return data.decode("ascii"), None
    label = (declared or "").strip().strip("\"'").lower()
    charset = canonical_charset(label)
    if charset in _UNDECLARED:
        text, codec = guess_decode(data)
        return text, f"undeclared charset, guessed {codec}"
    codec = _codec_name(charset)
    if codec is None:
        text, guessed = guess_decode(data)
        return text, f"unknown charset {label}, guessed {guessed}"
    relabelled = _relabel(data, codec)
    if relabelled is not None:
        return relabelled[0], f"declared charset {label} but content is {relabelled[1]}"
    text = _strict(data, codec)
    if text is not None:
        return text, None
    text, guessed = guess_decode(data)
    if guessed == "latin-1":
        return data.decode(codec, errors="replace"), f"invalid {label} bytes replaced"
    return text, f"declared charset {label} does not decode, guessed {guessed}"


def _relabel(data: bytes, codec: str) -> tuple[str, str] | None:
    """The right decoding when a commonly mislabelled charset is plainly wrong."""
    if codec not in _OFTEN_MISLABELLED:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and codec != "utf-8":
        return text, "utf-8"
    if codec in ("cp1252", "latin_1", "iso8859-1", "ascii") and _paired_high_bytes(data) > 0.8:
        gbk = _strict(data, "gb18030")
        if gbk is not None and plausibility(gbk) > 0.8:
            return gbk, "gb18030"
    return None


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding.upper() == "Q":
        raw = payload.replace("_", " ").encode("latin-1", errors="replace")
        return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return b""


def decode_encoded_words(value: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 words; adjacent words in one charset are joined before decoding.

    Joining first matters because senders split long subjects in the middle of a
    multi-byte character, leaving each word undecodable on its own.
    """
    out: list[str] = []
    problems: list[str] = []
    pos = 0
    run: list[bytes] = []
    run_charset = ""

    def flush() -> None:
        if run:
            text, problem = decode_bytes(b"".join(run), run_charset or "unknown-8bit")
            out.append(text)
            if problem:
                problems.append(problem)
            run.clear()

    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos:match.start()]
        charset = match.group(1).split("*", 1)[0]  # drop RFC 2231 language suffix
        is_space = _BETWEEN_WORDS.fullmatch(gap) is not None
        if run and (not is_space or charset.lower() != run_charset.lower()):
            flush()
            if not is_space:
                out.append(gap)
        elif not run:
            out.append(gap)
        run_charset = charset
        run.append(_word_bytes(match.group(2), match.group(3)))
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out), problems
