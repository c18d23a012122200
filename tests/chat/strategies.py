"""Hypothesis strategies shared by the chat tests: blocks, JSON values, delta scripts."""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

from hypothesis import strategies as st

from streamllm.chat import InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.deltas import ChatDelta

json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
ids = st.text(alphabet="abcdef0123456789_", min_size=1, max_size=8)
names = st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True)

blocks = st.one_of(
    st.builds(TextBlock, text=st.text(max_size=20)),
    st.builds(ReasoningBlock, text=st.text(max_size=20), signature=st.none() | st.text(max_size=8)),
    st.builds(ToolCall, id=ids, name=names, args=json_objects),
    st.builds(
        InvalidToolCall,
        id=st.none() | ids,
        name=st.none() | names,
        args_text=st.text(max_size=20),
        error=st.text(max_size=10),
    ),
)


def split(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at random points into fragments (some empty)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=5)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


#: Argument texts: valid objects, and the things that must become InvalidToolCall.
args_texts = st.one_of(
    json_objects.map(json.dumps),
    json_objects.map(lambda o: json.dumps(o)[:-1]),  # cut short
    st.sampled_from(["[1, 2]", "null", '"text"', "{bad json", "NaN", ""]),
)


@st.composite
def openai_scripts(draw: st.DrawFn) -> tuple[list[ChatDelta], list[tuple[str, Any]]]:
    """OpenAI-style deltas: alternating unnumbered reasoning/text, then interleaved calls.

    Returns the deltas and the expected blocks as (kind, text or (id, name, args_text)).
    """
    deltas: list[ChatDelta] = []
    expected: list[tuple[str, Any]] = []
    kind: Literal["text", "reasoning"] = draw(st.sampled_from(["text", "reasoning"]))
    for _ in range(draw(st.integers(0, 3))):
        text = draw(st.text(min_size=1, max_size=15))
        deltas += [ChatDelta(kind, f) for f in split(draw, text) if f]
        expected.append((kind, text))
        kind = "text" if kind == "reasoning" else "reasoning"
    calls = draw(st.lists(st.tuples(ids, names, args_texts), max_size=3, unique_by=lambda c: c[0]))
    queues = [[(i, f) for f in split(draw, args)] for i, (_, _, args) in enumerate(calls)]
    order = draw(st.permutations([i for i, q in enumerate(queues) for _ in q]))
    seen: set[int] = set()
    for i in order:
        _, fragment = queues[i].pop(0)
        call_id, name, _ = calls[i]
        if i in seen:
            deltas.append(ChatDelta("tool", fragment, index=i))
        else:
            seen.add(i)
            deltas.append(ChatDelta("tool", fragment, index=i, id=call_id, name=name))
            expected.append(("tool_call", calls[i]))
    return deltas, expected


@st.composite
def anthropic_scripts(draw: st.DrawFn) -> tuple[list[ChatDelta], list[tuple[str, Any]]]:
    """Numbered blocks with explicit starts and ends, interleaved in any order."""
    specs: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "reasoning", "tool_call"]))
        if kind == "tool_call":
            specs.append((kind, (draw(ids), draw(names), draw(args_texts))))
        else:
            specs.append((kind, draw(st.text(max_size=15))))
    queues: list[list[ChatDelta]] = []
    for index, (kind, value) in enumerate(specs):
        if kind == "tool_call":
            call_id, name, text = value
            start = ChatDelta("start", "", index, call_id, name, block_kind="tool_call")
            body = [ChatDelta("tool", f, index) for f in split(draw, text)]
        else:
            start = ChatDelta("start", "", index, block_kind=kind)  # type: ignore[arg-type]
            body = [ChatDelta(kind, f, index) for f in split(draw, value)]  # type: ignore[arg-type]
        queues.append([start, *body, ChatDelta("end", index=index)])
    order = draw(st.permutations([i for i, q in enumerate(queues) for _ in q]))
    deltas = [queues[i].pop(0) for i in order]
    # Positions follow the order in which blocks start.
    starts = [d.index for d in deltas if d.kind == "start"]
    expected = [specs[i] for i in starts if i is not None]
    return deltas, expected


def object_or_none(args_text: str) -> dict[str, Any] | None:
    """What a tool call's raw arguments should parse to, computed naively: an object or None."""
    try:
        args = json.loads(args_text) if args_text.strip() else {}
    except ValueError:
        return None
    return args if isinstance(args, dict) else None
