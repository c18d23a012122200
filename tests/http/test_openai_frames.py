"""The OpenAI chat parser's loop over a read: its fast path for the common frame
gives what :func:`openai_deltas` gives for every frame, in any mix and split."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamllm.chat.deltas import ChatDelta
from streamllm.chat.wire_openai import openai_deltas
from streamllm.errors import StreamProtocolError
from streamllm.models.openai import _ChatParser

_text = st.text(max_size=8)
_delta = st.one_of(
    st.fixed_dictionaries({"content": _text}),
    st.fixed_dictionaries({"content": st.one_of(st.none(), st.integers(), _text)}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": _text}),
    st.fixed_dictionaries({"reasoning_content": _text}),
    st.fixed_dictionaries({"content": _text, "reasoning": _text}),
    st.just({}),
    st.just([]),
)
_choice = st.one_of(
    st.fixed_dictionaries(
        {"index": st.just(0), "delta": _delta},
        optional={"finish_reason": st.sampled_from([None, "stop", "", 0])},
    ),
    st.just("not a choice"),
)
_frame = st.fixed_dictionaries(
    {"id": st.just("c1"), "model": st.just("m")},
    optional={
        "choices": st.one_of(st.lists(_choice, max_size=2), st.none(), st.just({})),
        "usage": st.one_of(
            st.none(), st.just({}), st.just({"prompt_tokens": 1, "completion_tokens": 2})
        ),
    },
)


def _body(frames: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(f).encode() + b"\n\n" for f in frames)


@given(st.lists(_frame, max_size=12), st.integers(min_value=1, max_value=200))
def test_parser_gives_openai_deltas_of_each_frame(frames: list[dict[str, Any]], size: int) -> None:
    """Whatever the frames and however the body is cut into reads."""
    body = _body(frames) + b"data: [DONE]\n\n"
    parser = _ChatParser("openai")
    got: list[ChatDelta] = []
    for start in range(0, len(body), size):
        got += parser.feed(body[start : start + size])
    assert parser.done
    assert parser.end() == []
    assert got == [d for f in frames for d in openai_deltas(f)]


def test_frames_after_done_are_ignored_in_the_same_read() -> None:
    frame = {"choices": [{"delta": {"content": "a"}}]}
    parser = _ChatParser("openai")
    body = _body([frame]) + b"data: [DONE]\n\n" + _body([frame])
    assert parser.feed(body) == [ChatDelta("text", "a")]
    assert parser.done


def test_malformed_or_non_object_frames_are_protocol_errors() -> None:
    """The scanner's own failures (StopIteration where no value starts) become
    the parser's StreamProtocolError, as load_frame's."""
    for payload in (b"", b" {}x", b'{"a"', b"x", b"[1]", b"{} {}"):
        parser = _ChatParser("openai")
        with pytest.raises(StreamProtocolError):
            parser.feed(b"data: " + payload + b"\n\n")


def test_whitespace_around_a_frame_is_tolerated() -> None:
    parser = _ChatParser("openai")
    frame = b' {"choices": [{"delta": {"content": "a"}}]}\t'
    assert parser.feed(b"data: " + frame + b"\n\n") == [ChatDelta("text", "a")]
