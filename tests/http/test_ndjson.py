"""The NDJSON decoder: complete lines only, however the bytes are split."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streamllm.http.ndjson import NDJSONDecoder


def decode(*pieces: bytes) -> list[bytes]:
    """Feed the pieces, then add the unterminated last line if any."""
    decoder = NDJSONDecoder()
    out: list[bytes] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    rest = decoder.end()
    return [*out, rest] if rest is not None else out


def test_lines_blank_lines_and_crlf() -> None:
    """Blank lines are skipped and a CR before the LF is dropped."""
    assert decode(b'{"a":1}\r\n\n{"b":2}\n') == [b'{"a":1}', b'{"b":2}']


def test_last_line_without_newline_comes_from_end() -> None:
    """A final line with no newline is handed back by end()."""
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\n{"done":true}') == [b'{"a":1}']
    assert decoder.end() == b'{"done":true}'


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(_values, max_size=8), st.lists(st.integers(0, 300), max_size=20))
def test_any_split_gives_the_same_values(values: list[object], cuts: list[int]) -> None:
    """Any split of a valid NDJSON stream decodes to the values that were written."""
    stream = b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values)
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert [json.loads(line) for line in decode(*pieces)] == values
