"""The OpenAI chat parser's learned envelope (streamllm.http.slot): a frame read
through it gives exactly what parsing it as JSON gives, whatever the server
writes around the token, and a frame that only looks like the envelope is
parsed (or refused) as before."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamllm.chat.deltas import ChatDelta
from streamllm.chat.wire_openai import openai_deltas
from streamllm.errors import ProviderError, StreamProtocolError
from streamllm.http.slot import StringSlot
from streamllm.models.openai import _ChatParser

# Raw envelopes as servers (or hostile ones) write them: (head, tail) around
# the value of "content". Some qualify for the slot, some must not.
_ENVELOPES = [
    ('{"id":"c","choices":[{"index":0,"delta":{"content":', '},"finish_reason":null}]}'),
    ('{"choices":[{"finish_reason":null,"index":0,"delta":{"content":', '}}],"created":1}'),
    ('{"choices":[{"delta":{"content":', '}}],"created":2}'),
    ('{"choices":[{"delta":{"content": ', "}}]}"),  # whitespace before the value
    ('{"choices":[{"delta":{"content":', '}, "finish_reason":"stop"}]}'),
    ('{"choices":[{"delta":{"content":', '}}],"usage":{"total_tokens":3}}'),
    # The key twice (the later one wins in JSON), escaped or not.
    ('{"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":', "}}]}"),
    ('{"choices":[{"delta":{"content":', '}}],"choices":[{"delta":{"\\u0063ontent":"z"}}]}'),
    ('{"choices":[{"delta":{"content":', '}}],"x":"\\"content\\":"}'),
    ('{"choices":[{"delta":{"content":', ',"role":"assistant"}}]}'),
]
_value = st.one_of(
    st.builds(json.dumps, st.text(max_size=6)),
    st.builds(lambda t: json.dumps(t, ensure_ascii=False), st.text(max_size=6)),
    st.sampled_from(['"content"', '""', '"\\"content\\":"', "null", "1", '"a","k":"b"']),
)
_frame = st.builds(lambda e, v: e[0] + v + e[1], st.sampled_from(_ENVELOPES), _value)


def _deltas(body: bytes, size: int) -> list[ChatDelta]:
    parser = _ChatParser("openai")
    got: list[ChatDelta] = []
    for start in range(0, len(body), size):
        got += parser.feed(body[start : start + size])
    assert parser.done
    return got


def _expected(payloads: list[str]) -> list[ChatDelta]:
    return [d for p in payloads for d in openai_deltas(json.loads(p))]


@given(st.lists(_frame, max_size=30), st.integers(min_value=1, max_value=300))
def test_frames_in_any_envelope_give_what_json_gives(payloads: list[str], size: int) -> None:
    valid = []
    for payload in payloads:
        try:
            json.loads(payload)
        except ValueError:
            continue
        valid.append(payload)
    body = "".join(f"data: {p}\n\n" for p in valid).encode() + b"data: [DONE]\n\n"
    assert _deltas(body, size) == _expected(valid)


def _stream(*middles: str, head: str = _ENVELOPES[0][0], tail: str = _ENVELOPES[0][1]) -> bytes:
    return "".join(f"data: {head}{m}{tail}\n\n" for m in middles).encode() + b"data: [DONE]\n\n"


def test_the_common_envelope_is_learned_and_read_without_json() -> None:
    parser = _ChatParser("openai")
    got = parser.feed(_stream('" t0"', '" t1"', '"\\u00e9\\n"', '""', '" t4"'))
    assert [d.text for d in got] == [" t0", " t1", "\u00e9\n", " t4"]
    assert parser._slot.hits == 4  # every frame after the first one


def test_a_middle_that_is_not_one_string_is_parsed_as_json() -> None:
    # Head and tail match, but the middle is a string, a comma and another
    # key: the frame is another document, with a second delta key.
    tricky = '" x","role":"assistant"'
    frames = [f"{_ENVELOPES[0][0]}{m}{_ENVELOPES[0][1]}" for m in ('" t0"', tricky)]
    assert _deltas(_stream('" t0"', tricky), 1000) == _expected(frames)


@pytest.mark.parametrize("middle", ['" t1', '"a\x01"', '"\\x"', '"\\ud83d" junk'])
def test_a_malformed_middle_is_a_protocol_error_as_before(middle: str) -> None:
    parser = _ChatParser("openai")
    # The token before it is delivered first; the error is raised after it.
    assert [d.text for d in parser.feed(_stream('" t0"', middle))] == [" t0"]
    assert isinstance(parser.error, StreamProtocolError)


def test_an_error_event_in_the_envelope_is_raised() -> None:
    parser = _ChatParser("openai")
    head, tail = _ENVELOPES[0]
    body = f'data: {head}" t0"{tail}\n\nevent: error\ndata: {head}" t1"{tail}\n\n'
    assert [d.text for d in parser.feed(body.encode())] == [" t0"]
    assert isinstance(parser.error, ProviderError)


def test_learning_stops_when_the_envelope_changes_every_frame() -> None:
    slot = StringSlot("content")
    learned = [slot.learn(f'{{"n":{i},"content":"t"}}', "t") for i in range(10)]
    assert learned == [True] * 4 + [False] * 6
    slot.hits = 32  # the envelopes learned were used: learning resumes
    assert slot.learn('{"n":99,"content":"t"}', "t")


def test_an_escaped_twin_key_whose_value_matches_is_never_learned() -> None:
    # The tail holds the key again, escaped ("\u0063ontent"): JSON keeps that
    # later value, "z". The first frame's own content is "z" too, so only the
    # backslash rule keeps its envelope from being learned; a second frame
    # with another middle must still mean "z".
    head, tail = (
        '{"choices":[{"delta":{"content":',
        '}}],"choices":[{"delta":{"\\u0063ontent":"z"}}]}',
    )
    frames = [head + m + tail for m in ('"z"', '"q"')]
    assert _deltas(_stream('"z"', '"q"', head=head, tail=tail), 1000) == _expected(frames)
    assert [d.text for d in _expected(frames)] == ["z", "z"]
