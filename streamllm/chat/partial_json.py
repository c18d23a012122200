"""Best-effort parsing of a JSON object that is still arriving (structured output streaming).

:func:`parse_partial_json` reads a prefix of a JSON object and returns what is
known so far, such that the partial only grows as the text grows: keys are
added, lists get longer, strings get longer, and nothing already shown
changes. The rules that make this hold:

- an unfinished *string value* is included as far as it goes (an unfinished
  escape at its end is left out), so a streamed answer field shows live;
- an unfinished *key*, or a key whose value has not started, is left out;
- a *number* or ``true``/``false``/``null`` is included only once it is
  finished (``12`` may still become ``123``);
- invalid JSON is read as if the text ended where it stops being JSON.

>>> parse_partial_json('{"city": "Par')
{'city': 'Par'}
>>> parse_partial_json('{"n": 12, "tags": ["a", "b')
{'n': 12, 'tags': ['a', 'b']}
>>> parse_partial_json('{"n": 12')
{}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["PartialJSON", "parse_partial_json"]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
# The backslashes and \\u digits at the end of an unfinished string.
_TAIL_ESCAPE = re.compile(r"(\\+)(u[0-9a-fA-F]{0,4})?$")
# A high surrogate's digits: its pair may still follow.
_HIGH_SURROGATE = re.compile(r"u[dD][89abAB][0-9a-fA-F]{2}$")
# The typeshed stubs do not declare it; it is json's public C string scanner.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_DECODER: Final = json.JSONDecoder(strict=False)
_LITERALS: Final = (("true", True), ("false", False), ("null", None))
_DELIMITERS = frozenset(" \t\n\r,]}")


class _Missing:
    pass


_MISSING: Final = _Missing()

# (value or _MISSING, position after it, finished)
_Parsed = tuple[Any, int, bool]


def parse_partial_json(text: str) -> dict[str, Any] | None:
    """The object known so far, or None before its ``{`` (or when it is not an object)."""
    i = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if i >= len(text) or text[i] != "{":
        return None
    try:
        value, _, _ = _object(text, i)
    except RecursionError:  # nesting deeper than Python's stack: best effort ends here
        return None
    return value  # type: ignore[no-any-return]


class PartialJSON:
    """:func:`parse_partial_json` over a growing text, fed fragment by fragment.

    Re-parsing the whole prefix per fragment is quadratic over a stream; this
    keeps the finished top-level members and resumes at the member still
    arriving. ``feed`` returns what :func:`parse_partial_json` would return
    for the text so far.

    >>> p = PartialJSON()
    >>> [p.feed(f) for f in ['{"a": 1', ', "b": "x', 'y"}']]
    [{}, {'a': 1, 'b': 'x'}, {'a': 1, 'b': 'xy'}]
    """

    __slots__ = ("_final", "_members", "_start", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._start: int | None = None  # where the member to resume at begins
        self._members: dict[str, Any] = {}  # the members before it
        self._final: dict[str, Any] | None = None

    def feed(self, fragment: str) -> dict[str, Any] | None:
        """The partial object after ``fragment`` (None before the ``{``, or for a non-object)."""
        self._text += fragment
        if self._final is not None:
            return self._final
        s = self._text
        if self._start is None:
            i = _ws(s, 0)
            if i >= len(s) or s[i] != "{":
                return None
            i = _ws(s, i + 1)
            if i >= len(s):
                return {}
            if s[i] == "}":
                self._final = {}
                return self._final
            self._start = i
        try:
            out, _, done, checkpoint, unfinished = _members(s, self._start, dict(self._members))
        except RecursionError:  # as parse_partial_json
            return None
        if done:
            self._final = out
        elif unfinished is not _DUP:
            saved = dict(out)
            if isinstance(unfinished, str):
                del saved[unfinished]
            self._start, self._members = checkpoint, saved
        return out


def _ws(s: str, i: int) -> int:
    return _WS.match(s, i).end()  # type: ignore[union-attr]


def _value(s: str, i: int) -> _Parsed:
    if i >= len(s):
        return _MISSING, i, False
    c = s[i]
    if c == "{" or c == "[":
        try:  # a finished container is parsed in C; only an unfinished one by hand
            value, end = _DECODER.raw_decode(s, i)
        except ValueError:
            return _object(s, i) if c == "{" else _array(s, i)
        return value, end, True
    if c == '"':
        return _string(s, i)
    m = _NUMBER.match(s, i)
    if m is not None:
        # Finished only when something that cannot continue it follows.
        if m.end() < len(s) and s[m.end()] in _DELIMITERS:
            return json.loads(m.group()), m.end(), True
        return _MISSING, i, False
    for word, value in _LITERALS:
        if s.startswith(word, i):
            return value, i + len(word), True
    return _MISSING, i, False


def _string(s: str, i: int) -> _Parsed:
    try:  # json's own C scanner: a long string costs no Python step per character
        value, end = _scanstring(s, i + 1, False)
    except json.JSONDecodeError as exc:
        # Unterminated, or an escape the end of the text cuts short (the scanner
        # calls "\\u12" at the end invalid); else the text stops being JSON there.
        if not exc.msg.startswith("Unterminated") and exc.pos < len(s) - 6:
            return _MISSING, i, False
    else:
        return value, end, True
    raw = _without_open_escape(s[i + 1 :])
    try:
        value, _ = _scanstring(raw + '"', 0, False)
    except ValueError:
        return _MISSING, i, False
    return value, len(s), False


def _without_open_escape(raw: str) -> str:
    """``raw`` without an escape cut short at its end: a lone backslash, a short
    ``\\u`` escape, or a high surrogate its pair may still follow."""
    while True:  # cutting a short low surrogate may leave its high surrogate at the end
        m = _TAIL_ESCAPE.search(raw, max(0, len(raw) - 16))
        if m is None:
            return raw
        start = m.start()
        if start == max(0, len(raw) - 16):  # the backslashes may begin before the window
            start = len(raw[: m.end(1)].rstrip("\\"))
        if (m.end(1) - start) % 2 == 0:
            return raw  # every backslash is escaped: no escape is open
        u = m.group(2)
        if u is not None and len(u) == 5 and not _HIGH_SURROGATE.match(u):
            return raw
        raw = raw[: m.end(1) - 1]


def _object(s: str, i: int) -> _Parsed:
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "}":
        return {}, i + 1, True
    value, i, done, _, _ = _members(s, i, {})
    return value, i, done


class _Dup:
    pass


_DUP: Final = _Dup()


def _members(
    s: str, i: int, out: dict[str, Any]
) -> tuple[dict[str, Any], int, bool, int, str | _Dup | None]:
    """The members from ``i`` (where a key may start) into ``out``.

    Also returns the last checkpoint (where the latest member after a comma
    starts) and the key of an unfinished member that went into ``out`` (or
    ``_DUP`` when it replaced an earlier one): :class:`PartialJSON` resumes
    there.
    """
    checkpoint = i
    while True:
        i = _ws(s, i)  # a checkpoint taken at the end of the text may be followed by spaces
        if i >= len(s) or s[i] != '"':
            return out, i, False, checkpoint, None
        key, i, done = _string(s, i)
        if not done:
            return out, i, False, checkpoint, None
        i = _ws(s, i)
        if i >= len(s) or s[i] != ":":
            return out, i, False, checkpoint, None
        value, i, done = _value(s, _ws(s, i + 1))
        if value is _MISSING:
            return out, i, False, checkpoint, None
        if not done:
            unfinished: str | _Dup = _DUP if key in out else key
            out[key] = value
            return out, i, False, checkpoint, unfinished
        out[key] = value
        i = _ws(s, i)
        if i < len(s) and s[i] == "}":
            return out, i + 1, True, checkpoint, None
        if i >= len(s) or s[i] != ",":
            return out, i, False, checkpoint, None
        i = checkpoint = i + 1


def _array(s: str, i: int) -> _Parsed:
    out: list[Any] = []
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "]":
        return out, i + 1, True
    while True:
        value, i, done = _value(s, i)
        if value is _MISSING:
            return out, i, False
        out.append(value)
        if not done:
            return out, i, False
        i = _ws(s, i)
        if i < len(s) and s[i] == "]":
            return out, i + 1, True
        if i >= len(s) or s[i] != ",":
            return out, i, False
        i = _ws(s, i + 1)
