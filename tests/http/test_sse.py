"""The SSE decoder: WHATWG parsing rules, and any split of the bytes gives the same events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamllm.http.sse import SSEDecoder, SSEEvent


def decode(*pieces: bytes) -> list[SSEEvent]:
    """Feed the pieces in order, then end the stream."""
    decoder = SSEDecoder()
    out: list[SSEEvent] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    decoder.end()
    return out


def test_data_event_and_comment_lines() -> None:
    """Comments are skipped, `event:` names the event, one space after the colon is dropped."""
    events = decode(b": keep-alive\nevent: ping\ndata: {}\n\ndata:no-space\n\n")
    assert events == [SSEEvent("ping", "{}"), SSEEvent("message", "no-space")]


def test_multi_line_data_is_joined_with_lf() -> None:
    """Several data lines make one event, joined by LF; a bare `data` line adds an empty line."""
    assert decode(b"data: a\ndata:  b\ndata\n\n") == [SSEEvent("message", "a\n b\n")]


def test_cr_lf_and_crlf_line_ends() -> None:
    """CR, LF and CRLF all end a line, in any mix."""
    assert decode(b"data: a\r\rdata: b\r\n\r\ndata: c\n\n") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
        SSEEvent("message", "c"),
    ]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    """A CR at the end of one read and the LF at the start of the next are one line end."""
    assert decode(b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
    ]


def test_utf8_character_split_across_reads() -> None:
    """A multi-byte character cut in two by the network arrives whole."""
    raw = "data: héllo 🌍\n\n".encode()
    cut = raw.index("🌍".encode()) + 2
    assert decode(raw[:cut], raw[cut:]) == [SSEEvent("message", "héllo 🌍")]


def test_event_without_data_is_not_dispatched_and_type_resets() -> None:
    """A blank line after no data dispatches nothing and forgets the event name."""
    assert decode(b"event: x\n\ndata: y\n\n") == [SSEEvent("message", "y")]


def test_id_retry_and_unknown_fields() -> None:
    """`id` persists across events, `retry` needs digits, unknown fields are ignored."""
    events = decode(b"id: 7\nretry: 10\nfoo: bar\ndata: a\n\nretry: x\ndata: b\n\n")
    assert [(e.id, e.retry, e.data) for e in events] == [("7", 10, "a"), ("7", 10, "b")]


def test_unterminated_event_is_discarded_at_end() -> None:
    """An event without its blank line is dropped at the end, and end() says so."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: complete\n\ndata: cut") == [SSEEvent("message", "complete")]
    assert decoder.end() is True
    assert SSEDecoder().end() is False


def test_byte_order_mark_is_stripped_once() -> None:
    """A leading BOM is not part of the first field name, even when split."""
    assert decode(b"\xef\xbb", b"\xbfdata: a\n\n") == [SSEEvent("message", "a")]


_line_end = st.sampled_from([b"\n", b"\r", b"\r\n"])
_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=12,
)


@st.composite
def _streams(draw: st.DrawFn) -> bytes:
    """A valid event stream: comments, event names, ids and (multi-line) data."""
    parts: list[bytes] = []
    if draw(st.booleans()):
        parts.append(b"\xef\xbb\xbf")
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            parts.append(b":" + draw(_text).encode() + draw(_line_end))
        if draw(st.booleans()):
            parts.append(b"event: " + draw(_text).encode() + draw(_line_end))
        if draw(st.booleans()):
            parts.append(b"id:" + draw(_text).encode() + draw(_line_end))
        for _ in range(draw(st.integers(0, 3))):
            parts.append(b"data: " + draw(_text).encode() + draw(_line_end))
        parts.append(draw(_line_end))
    return b"".join(parts)


@given(_streams(), st.lists(st.integers(0, 400), max_size=20))
def test_any_split_gives_the_same_events(stream: bytes, cuts: list[int]) -> None:
    """Reading the stream in pieces cut anywhere gives exactly the events of one read."""
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert decode(*pieces) == decode(stream)


@given(_streams())
def test_byte_at_a_time_gives_the_same_events(stream: bytes) -> None:
    """The worst split of all, one byte per read, changes nothing."""
    assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == decode(stream)
