"""parse_partial_json: a growing prefix gives a partial object that only grows."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import parse_partial_json
from tests.chat.strategies import json_objects


def _grows(a: Any, b: Any) -> bool:
    """``b`` extends ``a``: more keys, longer lists and strings, nothing else changed."""
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and _grows(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) <= len(b) and all(map(_grows, a, b))
    if isinstance(a, str):
        return isinstance(b, str) and b.startswith(a)
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(json_objects, st.booleans(), st.booleans())
def test_every_prefix_grows_into_the_whole(
    obj: dict[str, Any], ascii_only: bool, pretty: bool
) -> None:
    """Prefix by prefix, each partial extends the previous one, and the whole parses exactly."""
    text = json.dumps(obj, ensure_ascii=ascii_only, indent=2 if pretty else None)
    previous: dict[str, Any] = {}
    for end in range(1, len(text) + 1):
        partial = parse_partial_json(text[:end])
        assert partial is not None
        assert _grows(previous, partial), (text[:end], previous, partial)
        previous = partial
    assert parse_partial_json(text) == obj


def test_unfinished_values() -> None:
    """Strings show as far as they go; numbers, literals and keys only once finished."""
    assert parse_partial_json('{"answer": "Par') == {"answer": "Par"}
    assert parse_partial_json('{"n": 12') == {}
    assert parse_partial_json('{"n": 12,') == {"n": 12}
    assert parse_partial_json('{"ok": tr') == {}
    assert parse_partial_json('{"ok": true') == {"ok": True}
    assert parse_partial_json('{"ke') == {}
    assert parse_partial_json('{"key": ') == {}
    assert parse_partial_json('{"a": [1, {"b": "x') == {"a": [1, {"b": "x"}]}


def test_escapes_cut_in_the_middle() -> None:
    """An escape cut short is left out until it is whole (a surrogate pair until both halves)."""
    assert parse_partial_json('{"s": "a\\') == {"s": "a"}
    assert parse_partial_json('{"s": "a\\u00') == {"s": "a"}
    assert parse_partial_json('{"s": "a\\u00e9') == {"s": "aé"}
    assert parse_partial_json('{"s": "\\ud83d') == {"s": ""}
    assert parse_partial_json('{"s": "\\ud83d\\ude00') == {"s": "😀"}
    assert parse_partial_json('{"s": "\\\\ud83d') == {"s": "\\ud83d"}


def test_not_an_object() -> None:
    """Before the ``{``, or for another JSON value, there is no object: None."""
    assert parse_partial_json("") is None
    assert parse_partial_json("  ") is None
    assert parse_partial_json("[1, 2]") is None
    assert parse_partial_json(" {") == {}


def test_invalid_json_stops_where_it_breaks() -> None:
    """What comes before the first invalid token is kept."""
    assert parse_partial_json('{"a": 1, "b": nope, "c": 2}') == {"a": 1}
    assert parse_partial_json('{"a": "x\\q"}') == {}
