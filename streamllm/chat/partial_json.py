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
from typing import Any, Final

__all__ = ["parse_partial_json"]

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
# The decodable part of an unfinished string: characters and whole escapes.
# What it leaves at the end is an unfinished escape.
_WHOLE = re.compile(r"(?:[^\\]|\\u[0-9a-fA-F]{4}|\\[^u])*", re.DOTALL)
# A high surrogate at the very end may still be paired by the next escape.
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")
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


def _ws(s: str, i: int) -> int:
    return _WS.match(s, i).end()  # type: ignore[union-attr]


def _value(s: str, i: int) -> _Parsed:
    if i >= len(s):
        return _MISSING, i, False
    c = s[i]
    if c == "{":
        return _object(s, i)
    if c == "[":
        return _array(s, i)
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
    m = _STRING.match(s, i)
    if m is not None:
        try:
            return json.loads(m.group(), strict=False), m.end(), True
        except ValueError:  # an invalid escape: the text stops being JSON there
            return _MISSING, i, False
    rest = s[i + 1 :]
    raw = rest[: _WHOLE.match(rest).end()]  # type: ignore[union-attr]
    if _HIGH_SURROGATE.search(raw):
        head = raw[:-6]
        if (len(head) - len(head.rstrip("\\"))) % 2 == 0:  # its backslash is not escaped
            raw = head
    try:
        return json.loads(f'"{raw}"', strict=False), len(s), False
    except ValueError:  # an invalid escape: the text stops being JSON there
        return _MISSING, i, False


def _object(s: str, i: int) -> _Parsed:
    out: dict[str, Any] = {}
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "}":
        return out, i + 1, True
    while True:
        if i >= len(s) or s[i] != '"':
            return out, i, False
        key, i, done = _string(s, i)
        if not done:
            return out, i, False
        i = _ws(s, i)
        if i >= len(s) or s[i] != ":":
            return out, i, False
        value, i, done = _value(s, _ws(s, i + 1))
        if value is _MISSING:
            return out, i, False
        out[key] = value
        if not done:
            return out, i, False
        i = _ws(s, i)
        if i < len(s) and s[i] == "}":
            return out, i + 1, True
        if i >= len(s) or s[i] != ",":
            return out, i, False
        i = _ws(s, i + 1)


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
