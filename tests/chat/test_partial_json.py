"""parse_partial_json: a growing prefix gives a partial object that only grows."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import PartialJSON, parse_partial_json
from tests.chat.strategies import json_objects, split


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


@settings(max_examples=150, deadline=None)
@given(json_objects, st.booleans(), st.data())
def test_fed_fragment_by_fragment_it_agrees_with_a_full_parse(
    obj: dict[str, Any], pretty: bool, data: st.DataObject
) -> None:
    """PartialJSON, resuming at the member still arriving, gives what a full re-parse gives."""
    text = json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False)
    fragments = data.draw(st.composite(lambda draw: split(draw, text))())
    parser = PartialJSON()
    so_far = ""
    for fragment in [*fragments, ""]:
        so_far += fragment
        assert parser.feed(fragment) == parse_partial_json(so_far), so_far
    assert parser.feed(" ") == obj


def test_partial_json_before_and_around_the_object() -> None:
    """None before the brace and for a non-object; an empty object; a trailing comma waits."""
    p = PartialJSON()
    assert p.feed("  ") is None
    assert p.feed("{") == {}
    assert p.feed(" }") == {}
    q = PartialJSON()
    assert [q.feed(f) for f in ['{"a": 1, ', "", '"b": [1', "]}"]] == [
        {"a": 1},
        {"a": 1},
        {"a": 1, "b": []},
        {"a": 1, "b": [1]},
    ]
    assert PartialJSON().feed("[1]") is None
