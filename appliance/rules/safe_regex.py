"""Regular expressions an administrator may put in a process condition, bounded in time.

Python's `re` backtracks and has no timeout, so a pattern such as `(a+)+$` or
`a*a*a*b` can hold a worker for minutes on a few hundred characters. Patterns are
therefore checked before use, and the text they run on is cut to `MAX_INPUT`:

* at most `MAX_PATTERN` characters, and it must compile;
* no backreferences (`\\1`, `(?P=name)`, `(?(1)…)`);
* no quantifier inside a quantified group (`(a+)+`, `(\\w+\\s?)*`), except a small
  fixed count of a bounded body (`(\\d{1,3}\\.){3}`), which is unrolled;
* no quantified alternation whose branches can start alike (`(a|ab)+`, `(x|x)*`);
* an estimate of the worst backtracking stays under `BUDGET`: quantifiers of variable
  length whose characters overlap, with nothing in between that only one of them could
  match, multiply (`\\d+\\d+x` multiplies, `\\w+@\\w+` does not). With `MAX_INPUT` 500
  this allows two such unbounded quantifiers in a row (about 0.1 s at worst, measured
  in tests/unit/test_process_conditions.py) and refuses three.
"""
from __future__ import annotations

import functools
import re
from re import _constants as C
from re import _parser as sre_parse

MAX_PATTERN = 200
MAX_INPUT = 500
BUDGET = MAX_INPUT ** 3
_FIXED_UNROLL = 8   # a fixed count up to this may hold a bounded quantifier
_INNER_BOUND = 16   # ... of at most this many repetitions
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_CHAR_OPS = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN)
_BASE_PROBES = [chr(i) for i in range(128)] + list("中文，。é１\u3000٣ÄΣ")
_CATEGORIES = {
    C.CATEGORY_DIGIT: str.isdecimal, C.CATEGORY_SPACE: str.isspace,
    C.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    C.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    C.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


class UnsafePattern(ValueError):
    """A pattern refused; `code` says why (see `pattern_problem`)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def pattern_problem(pattern) -> tuple[str, str] | None:
    """(code, detail) when the pattern may not be used, else None.

    Codes: regex_not_text, regex_too_long, regex_invalid, regex_backreference,
    regex_nested_quantifier, regex_ambiguous_alternation, regex_too_slow."""
    try:
        _checked(_text(pattern))
    except UnsafePattern as exc:
        return exc.code, exc.detail
    return None


def search(pattern: str, text) -> bool:
    """Whether the checked pattern occurs in the first MAX_INPUT characters of `text`.

    Raises UnsafePattern for a pattern `pattern_problem` refuses."""
    if text is None:
        return False
    return _checked(_text(pattern)).search(str(text)[:MAX_INPUT]) is not None


def _text(pattern) -> str:
    if not isinstance(pattern, str):
        raise UnsafePattern("regex_not_text")
    return pattern


@functools.lru_cache(maxsize=512)
def _checked(pattern: str) -> re.Pattern:
    if len(pattern) > MAX_PATTERN:
        raise UnsafePattern("regex_too_long", str(MAX_PATTERN))
    try:
        compiled = re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise UnsafePattern("regex_invalid", str(exc)) from None
    items = list(parsed)
    worst, _ = _Cost(_BASE_PROBES + sorted(_literals(items))).walk(items, [])
    if MAX_INPUT * worst > BUDGET:
        raise UnsafePattern("regex_too_slow")
    return compiled


class _Cost:
    """Worst backtracking factor of a parsed pattern.

    Walks a sequence keeping the variable quantifiers still "open": (predicate, factor)
    pairs that a later quantifier over overlapping characters could trade characters with."""

    def __init__(self, probes: list[str]):
        # Characters tried when judging whether two sets overlap: the base set plus every
        # character the pattern names (ranges overlap iff an end of one lies in the other).
        self.probes = probes

    def overlap(self, a, b) -> bool:
        return any(a(c) and b(c) for c in self.probes)

    def walk(self, items, open_: list) -> tuple[float, list]:
        worst = 1.0
        for op, av in items:
            if op in _REPEATS:
                found, open_ = self.repeat(av, open_)
            elif op in _CHAR_OPS:
                pred = _pred(op, av)
                open_ = [o for o in open_ if self.overlap(o[0], pred)]
                found = 1.0
            elif op is C.SUBPATTERN or op is C.ATOMIC_GROUP:
                found, open_ = self.walk(av[-1] if op is C.SUBPATTERN else av, open_)
            elif op is C.BRANCH:
                found, open_ = self.branch(av[1], open_)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                found, _ = self.walk(av[1], [])
            elif op in (C.GROUPREF, C.GROUPREF_EXISTS):
                raise UnsafePattern("regex_backreference")
            else:  # anchors (^ $ \b) consume nothing
                found = 1.0
            worst = max(worst, found)
        return worst, open_

    def repeat(self, av, open_: list) -> tuple[float, list]:
        low, high, body = av
        body = list(body)
        if high > 1 and _has_repeat(body):
            if low != high or high > _FIXED_UNROLL or not _bounded(body):
                raise UnsafePattern("regex_nested_quantifier")
            worst = 1.0
            for _ in range(high):  # a short fixed count is the body written out that often
                found, open_ = self.walk(body, open_)
                worst = max(worst, found)
            return worst, open_
        if high > 1 and self.ambiguous(body):
            raise UnsafePattern("regex_ambiguous_alternation")
        inner, _ = self.walk(body, [])
        pred = _chars(body)
        factor = 1.0 if low == high else (
            float(MAX_INPUT) if high == C.MAXREPEAT else float(min(high - low + 1, MAX_INPUT)))
        together = [o for o in open_ if self.overlap(o[0], pred)]
        worst = inner * factor
        for _, f in together:
            worst *= f
        if low >= 1:  # a mandatory character closes the quantifiers it cannot match
            open_ = together
        return worst, open_ + ([(pred, factor)] if factor > 1 else [])

    def branch(self, alternatives, open_: list) -> tuple[float, list]:
        worst, after = 1.0, []
        for alt in alternatives:
            found, rest = self.walk(alt, list(open_))
            worst = max(worst, found)
            after += [o for o in rest if all(o is not a for a in after)]
        return worst, after

    def ambiguous(self, items) -> bool:
        """A quantified body with an alternation whose branches can begin alike."""
        for op, av in items:
            if op is C.BRANCH:
                firsts = [_first(alt) for alt in av[1]]
                for i, a in enumerate(firsts):
                    if any(self.overlap(a, b) for b in firsts[i + 1:]):
                        return True
            if any(self.ambiguous(sub) for sub in _children(op, av)):
                return True
        return False


def _has_repeat(items) -> bool:
    for op, av in items:
        if op in _REPEATS and av[1] > 1:
            return True
        if any(_has_repeat(sub) for sub in _children(op, av)):
            return True
    return False


def _bounded(items) -> bool:
    for op, av in items:
        if op in _REPEATS and av[1] > _INNER_BOUND:
            return False
        if not all(_bounded(sub) for sub in _children(op, av)):
            return False
    return True


def _children(op, av) -> list:
    if op in _REPEATS:
        return [av[2]]
    if op is C.SUBPATTERN:
        return [av[-1]]
    if op is C.BRANCH:
        return list(av[1])
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [av[1]]
    if op is C.ATOMIC_GROUP:
        return [av]
    return []


def _first(items):
    """Characters a sequence can begin with (any, when it can be empty or is unclear)."""
    for op, av in items:
        if op in _CHAR_OPS:
            return _pred(op, av)
        if op is C.SUBPATTERN:
            return _first(av[-1])
        if op in _REPEATS or op is C.BRANCH or op is C.ATOMIC_GROUP:
            return _any
        # anchors consume nothing: look at what follows
    return _any


def _chars(items):
    """Every character a sequence could consume."""
    preds = []
    for op, av in items:
        if op in _CHAR_OPS:
            preds.append(_pred(op, av))
        else:
            preds += [_chars(sub) for sub in _children(op, av)]
    return lambda c: any(p(c) for p in preds)


def _any(_c) -> bool:
    return True


def _pred(op, av):
    if op is C.LITERAL:
        return _caseless(lambda c: c == chr(av))
    if op is C.NOT_LITERAL:
        return lambda c: c != chr(av)
    if op is C.ANY:
        return _any
    negate = any(o is C.NEGATE for o, _ in av)
    parts = [_set_member(o, a) for o, a in av if o is not C.NEGATE]
    member = _caseless(lambda c: any(p(c) for p in parts))
    return (lambda c: not member(c)) if negate else member


def _set_member(op, av):
    if op is C.LITERAL:
        return lambda c: c == chr(av)
    if op is C.RANGE:
        return lambda c: len(c) == 1 and av[0] <= ord(c) <= av[1]
    if op is C.CATEGORY:
        return _CATEGORIES.get(av, _any)
    return _any  # anything unforeseen is assumed to match everything


def _caseless(pred):
    # (?i) can make 'a' match 'A': judge overlap as if every pattern ignored case.
    return lambda c: pred(c) or pred(c.lower()) or pred(c.upper())


def _literals(items) -> set[str]:
    found: set[str] = set()
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL):
            found.add(chr(av))
        elif op is C.RANGE:
            found.update((chr(av[0]), chr(av[1])))
        elif op is C.IN:
            found |= _literals(av)
        for sub in _children(op, av):
            found |= _literals(sub)
    return found
