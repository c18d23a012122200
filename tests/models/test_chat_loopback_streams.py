"""ChatOpenAI, ChatAnthropic and ChatOllama over real HTTP against loopback servers that
stream each vendor's documented wire format: reasoning, text and two tool calls (one
whose arguments are not a JSON object), sync and async, streamed and invoked.

Per run: the block events keep their per-block order (OpenAI's two calls interleave),
the message equals the chunks' sum, ``LLMEnd``'s message and what ``ResultCollector``
rebuilds from the events; the bad call is an ``InvalidToolCall``; reasoning stays
beside the calls; Anthropic's signature is kept; the usage details arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streamllm.chat import InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.blocks import Block
from streamllm.events import BlockDelta, BlockEnd, BlockStart, LLMEnd, LLMError
from streamllm.usage import TokenUsage
from tests.models.loopback_chat import (
    MODES,
    VENDORS,
    Outcome,
    anthropic,
    ollama,
    openai,
    run_once,
    weather,
)
from tests.models.test_chat_guarantees import check_chat_run
from tests.servers import vendor_streams as streams
from tests.servers.vendor_server import VendorServer

REASONING = "".join(streams.REASONING)
TEXT = "".join(streams.TEXT)
PARIS = {"city": "Paris"}


def expected_blocks(vendor: str) -> list[Block]:
    """The blocks each vendor's answer makes (an invalid call's error aside)."""
    if vendor == "openai":
        bad = InvalidToolCall(
            id="call_b", name="weather", args_text="".join(streams.OPENAI_BAD_ARGS), error=""
        )
        return [
            ReasoningBlock(text=REASONING),
            TextBlock(text=TEXT),
            ToolCall(id="call_a", name="weather", args=PARIS),
            bad,
        ]
    if vendor == "anthropic":
        bad = InvalidToolCall(
            id="toolu_b", name="weather", args_text="".join(streams.ANTHROPIC_BAD_ARGS), error=""
        )
        return [
            ReasoningBlock(text=REASONING, signature=streams.SIGNATURE),
            TextBlock(text=TEXT),
            ToolCall(id="toolu_a", name="weather", args=PARIS),
            bad,
        ]
    return [
        ReasoningBlock(text=REASONING),
        TextBlock(text=TEXT),
        ToolCall(id="call_o1", name="weather", args=PARIS),
        ToolCall(id="call_3", name="weather", args={"city": "London"}),
    ]


EXPECTED_USAGE = {
    "openai": TokenUsage.of(31, 52, "provider", 83, cache_read_tokens=12, reasoning_tokens=20),
    "anthropic": TokenUsage.of(
        472 + 2048 + 100, 89, "provider", cache_read_tokens=2048, cache_write_tokens=100
    ),
    "ollama": TokenUsage.of(42, 17, "provider"),
}
# Ollama says "stop" even when the message is tool calls, and the library keeps the
# vendor's word; OpenAI's tool_calls and Anthropic's tool_use both say so.
EXPECTED_FINISH = {"openai": "tool_calls", "anthropic": "tool_calls", "ollama": "stop"}


def without_errors(blocks: Any) -> list[Any]:
    """Blocks with an invalid call's error text blanked (checked on its own)."""
    return [
        b.model_copy(update={"error": ""}) if isinstance(b, InvalidToolCall) else b for b in blocks
    ]


def check_outcome(vendor: str, outcome: Outcome) -> None:
    """Everything one successful run must show, whichever way it ran."""
    assert outcome.error is None, outcome.error
    message = outcome.message
    assert message is not None
    events = outcome.recorder.events
    terminal = check_chat_run(events)  # lifecycle, per-block order, concatenation rules
    assert isinstance(terminal, LLMEnd)
    assert sum(isinstance(e, LLMEnd | LLMError) for e in events) == 1
    # One message, however it is looked at.
    assert terminal.result.message == message
    (rebuilt,) = outcome.collector.results.values()
    assert rebuilt.message == message
    if outcome.chunks:
        assert outcome.chunks[-1].usage == message.usage
    # Its blocks, in order: reasoning kept beside the tool calls, the signature kept.
    assert without_errors(message.content_blocks) == expected_blocks(vendor)
    assert message.reasoning == REASONING
    assert message.text == TEXT
    assert message.tool_calls[0] == ToolCall(
        id=message.tool_calls[0].id, name="weather", args=PARIS
    )
    if vendor == "ollama":
        assert [c.args for c in message.tool_calls] == [PARIS, {"city": "London"}]
        assert not message.invalid_tool_calls
    else:
        (bad,) = message.invalid_tool_calls
        assert bad.error.startswith("the arguments are not")
    assert message.finish_reason == EXPECTED_FINISH[vendor]
    # Usage with its details and provenance, on the message and on LLMEnd.
    assert message.usage == EXPECTED_USAGE[vendor]
    assert message.usage is not None
    assert message.usage.source == "provider"
    assert terminal.result.usage == message.usage


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_reasoning_text_and_two_tool_calls(
    vendor_server: VendorServer, vendor: str, mode: str
) -> None:
    """The whole documented answer, each of the four ways."""
    script = vendor_server.serve(VENDORS[vendor].frames())
    model = VENDORS[vendor].model(script).bind_tools([weather])
    outcome = await run_once(model, mode)
    check_outcome(vendor, outcome)
    assert len(script.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_openai_parallel_calls_interleave(vendor_server: VendorServer, mode: str) -> None:
    """OpenAI's fragments by index: the second call starts before the first ends, and
    the argument deltas alternate between them as the wire sent them."""
    script = vendor_server.serve(streams.openai_frames())
    model = openai(script).bind_tools([weather])
    outcome = await run_once(model, mode)
    events = outcome.recorder.events
    calls = [e for e in events if isinstance(e, BlockDelta) and e.kind == "tool_call"]
    assert [e.block for e in calls] == [2, 3, 2, 3, 3]
    order = [(type(e).__name__, e.block) for e in events if isinstance(e, BlockStart | BlockEnd)]
    assert order.index(("BlockStart", 3)) < order.index(("BlockEnd", 2))


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_openai_reasoning_under_either_name(vendor_server: VendorServer, field: str) -> None:
    """llama-server, vLLM and DeepSeek say ``reasoning_content``, OpenRouter ``reasoning``."""
    script = vendor_server.serve(streams.openai_frames(field))
    model = openai(script)
    outcome = await run_once(model, "astream")
    check_outcome("openai", outcome)
    deltas = [e for e in outcome.recorder.events if isinstance(e, BlockDelta)]
    assert "".join(e.delta for e in deltas if e.kind == "reasoning") == REASONING


@pytest.mark.parametrize("mode", MODES)
async def test_anthropic_blocks_follow_one_another(vendor_server: VendorServer, mode: str) -> None:
    """Anthropic's blocks come one after the other; the signature arrives on the
    reasoning block's end, never as reasoning text."""
    script = vendor_server.serve(streams.anthropic_frames())
    model = anthropic(script, thinking=2048).bind_tools([weather])
    outcome = await run_once(model, mode)
    check_outcome("anthropic", outcome)
    events = outcome.recorder.events
    order = [(type(e).__name__, e.block) for e in events if isinstance(e, BlockStart | BlockEnd)]
    assert order == [(kind, b) for b in range(4) for kind in ("BlockStart", "BlockEnd")]
    (end,) = [e for e in events if isinstance(e, BlockEnd) and e.block == 0]
    assert end.content == ReasoningBlock(text=REASONING, signature=streams.SIGNATURE)
    deltas = [e.delta for e in events if isinstance(e, BlockDelta) and e.block == 0]
    assert streams.SIGNATURE not in "".join(deltas)


@pytest.mark.parametrize("mode", MODES)
async def test_ollama_whole_calls_are_one_start_delta_end(
    vendor_server: VendorServer, mode: str
) -> None:
    """Ollama sends each call whole: one start, one delta (all the arguments), one end."""
    script = vendor_server.serve(streams.ollama_frames())
    model = ollama(script, think=True).bind_tools([weather])
    outcome = await run_once(model, mode)
    check_outcome("ollama", outcome)
    events = outcome.recorder.events
    for block in (2, 3):
        mine = [type(e).__name__ for e in events if getattr(e, "block", None) == block]
        assert mine == ["BlockStart", "BlockDelta", "BlockEnd"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", ["city=London", "[1, 2]"])
async def test_ollama_string_arguments_that_are_no_object(
    vendor_server: VendorServer, mode: str, bad: str
) -> None:
    """Ollama itself sends arguments as an object; a compatible server that sends a
    string that is not a JSON object gets an InvalidToolCall, kept raw, not an error."""
    script = vendor_server.serve(streams.ollama_frames(bad_args=bad))
    model = ollama(script).bind_tools([weather])
    outcome = await run_once(model, mode)
    assert outcome.error is None
    message = outcome.message
    assert message is not None
    (good,) = message.tool_calls
    assert good.args == PARIS
    (invalid,) = message.invalid_tool_calls
    assert (invalid.name, invalid.args_text) == ("weather", bad)
    assert message.reasoning == REASONING
    check_chat_run(outcome.recorder.events)


@pytest.mark.parametrize("mode", MODES)
async def test_anthropic_server_tool_blocks_are_not_calls_to_answer(
    vendor_server: VendorServer, mode: str
) -> None:
    """A web search Anthropic runs itself streams its input like a client tool's; it
    is not a call for the caller to answer (nor a nameless invalid one)."""
    script = vendor_server.serve(streams.anthropic_frames(server_tool=True))
    model = anthropic(script, thinking=2048).bind_tools([weather])
    outcome = await run_once(model, mode)
    check_outcome("anthropic", outcome)
    assert outcome.message is not None
    assert [c.id for c in outcome.message.tool_calls] == ["toolu_a"]
    starts = [e for e in outcome.recorder.events if isinstance(e, BlockStart)]
    assert [e.kind for e in starts] == ["reasoning", "text", "tool_call", "tool_call"]


VARIANTS: dict[str, tuple[str, Callable[[], list[dict[str, Any]]]]] = {
    "anthropic-full-usage": ("anthropic", lambda: streams.anthropic_frames(full_usage=True)),
    "ollama-one-call-a-line": ("ollama", lambda: streams.ollama_frames(one_call_a_line=True)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_documented_variants(vendor_server: VendorServer, variant: str, mode: str) -> None:
    """The same answer in the other shapes the vendors send: Anthropic's message_delta
    with every count again (not counted twice), Ollama's calls one line each."""
    vendor, frames = VARIANTS[variant]
    script = vendor_server.serve(frames())
    model = VENDORS[vendor].model(script).bind_tools([weather])
    check_outcome(vendor, await run_once(model, mode))
