"""The fault matrix for chat models over real HTTP: the loopback server closes the
connection in the middle of a tool call (between frames, or half a frame in), or ends
the body cleanly without the vendor's terminator; or the consumer walks away mid-call.

Whatever happens, the run ends with exactly one terminal event, no block ends after
the failure, the caller gets a typed error, the call is not retried once content was
delivered, and ``LLMError.partial.message`` holds the blocks as far as they came (a
call's raw argument text included).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import pytest

from streamllm.chat import InvalidToolCall, ReasoningBlock, TextBlock
from streamllm.errors import ProviderConnectionError, StreamProtocolError
from streamllm.events import BlockEnd, LLMEnd, LLMError
from streamllm.testing import RecordingHandler
from tests.models.http_helpers import busy_connections, model_client
from tests.models.loopback_chat import MODES, PROMPT, VENDORS, received, run, run_once, weather
from tests.models.test_chat_guarantees import check_chat_run
from tests.servers import vendor_streams as streams
from tests.servers.vendor_server import VendorServer

REASONING = ReasoningBlock(text="".join(streams.REASONING))
TEXT = TextBlock(text="".join(streams.TEXT))
# cut -> (what the server does, the error the caller gets)
CUTS: dict[str, tuple[dict[str, Any], type[Exception]]] = {
    "drop": ({"cut": "drop"}, ProviderConnectionError),
    "drop_half_frame": ({"cut": "drop", "half": True}, ProviderConnectionError),
    "no_terminator": ({"cut": "end"}, StreamProtocolError),
}


def expected_partial(vendor: str) -> list[Any]:
    """The first blocks as far as they came when the cut falls inside a tool call."""
    if vendor == "ollama":  # whole calls: the line that carries them never arrived complete
        return [REASONING, TEXT]
    first = "call_a" if vendor == "openai" else "toolu_a"
    half = InvalidToolCall(id=first, name="weather", args_text=streams.GOOD_ARGS[0], error="")
    if vendor == "anthropic":
        return [REASONING.model_copy(update={"signature": streams.SIGNATURE}), TEXT, half]
    return [REASONING, TEXT, half]


def blank(blocks: Any) -> list[Any]:
    return [
        b.model_copy(update={"error": ""}) if isinstance(b, InvalidToolCall) else b for b in blocks
    ]


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_the_server_closes_mid_tool_call(
    vendor_server: VendorServer, vendor: str, mode: str, cut: str
) -> None:
    behaviour, error = CUTS[cut]
    script = vendor_server.serve(
        VENDORS[vendor].frames(), cut_after=streams.CUT_MID_CALL[vendor], **behaviour
    )
    model = VENDORS[vendor].model(script).bind_tools([weather])
    try:
        outcome = await run(model, mode)
        assert busy_connections(model_client(model, "async" if mode[0] == "a" else "sync")) == 0
    finally:
        await model.aclose()
    assert isinstance(outcome.error, error), repr(outcome.error)
    events = outcome.recorder.events
    terminal = check_chat_run(events)  # one run, blocks in order, nothing after the failure
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "failed"
    assert sum(isinstance(e, LLMEnd | LLMError) for e in events) == 1
    # Content had been delivered: the call is not sent again.
    assert len(script.requests) == 1
    partial = terminal.partial.message
    assert partial is not None
    blocks = blank(partial.content_blocks)
    assert blocks[:3] == expected_partial(vendor)
    if vendor == "openai":
        assert [getattr(b, "id", None) for b in blocks] == [None, None, "call_a", "call_b"]
    # Only the blocks that were finished on the wire got their BlockEnd.
    ended = [e.block for e in events if isinstance(e, BlockEnd)]
    assert ended == ([0, 1] if vendor != "ollama" else [0])
    # The collector keeps the failure and the ended blocks.
    (failure,) = outcome.collector.errors.values()
    assert failure == terminal
    (rebuilt,) = outcome.collector.results.values()
    assert rebuilt.message is not None
    assert list(rebuilt.message.content_blocks) == list(partial.content_blocks[: len(ended)])
    if mode in ("stream", "astream"):
        # What the caller got adds up to the partial message.
        assert received(outcome.chunks).content_blocks == partial.content_blocks


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_a_break_before_any_block_is_retried(
    vendor_server: VendorServer, vendor: str, mode: str
) -> None:
    """A connection lost before any block began (after OpenAI's role chunk or
    Anthropic's message_start; Ollama's first line is content) is retried; every
    attempt failing still ends the run once."""
    before_blocks = 0 if vendor == "ollama" else 1
    script = vendor_server.serve(VENDORS[vendor].frames(), cut_after=before_blocks)
    model = VENDORS[vendor].model(script, max_retries=1).bind_tools([weather])
    outcome = await run_once(model, mode)
    assert isinstance(outcome.error, ProviderConnectionError)
    events = outcome.recorder.events
    assert isinstance(check_chat_run(events), LLMError)
    assert sum(isinstance(e, LLMEnd | LLMError) for e in events) == 1
    assert len(script.requests) == 2


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
@pytest.mark.parametrize("sync", [True, False])
async def test_the_consumer_walks_away_mid_tool_call(
    vendor_server: VendorServer, vendor: str, sync: bool
) -> None:
    """Breaking out of the stream inside a streamed call ends the run once (cancelled)
    and gives the connection back."""
    script = vendor_server.serve(VENDORS[vendor].frames())
    model = VENDORS[vendor].model(script).bind_tools([weather])
    recorder = RecordingHandler()
    got: list[Any] = []
    try:
        if sync:
            stream = model.stream(PROMPT, callbacks=[recorder])
            for chunk in stream:
                got.append(chunk)
                if chunk.tool_call_chunks:
                    break
            stream.close()
        else:
            async with aclosing(model.astream(PROMPT, callbacks=[recorder])) as astream:
                async for chunk in astream:
                    got.append(chunk)
                    if chunk.tool_call_chunks:
                        break
        assert busy_connections(model_client(model, "sync" if sync else "async")) == 0
    finally:
        await model.aclose()
    events = recorder.events
    terminal = check_chat_run(events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"
    assert sum(isinstance(e, LLMEnd | LLMError) for e in events) == 1
    partial = terminal.partial.message
    assert partial is not None
    assert (
        received(got).content_blocks == partial.content_blocks[: len(received(got).content_blocks)]
    )
    assert len(partial.content_blocks) >= 3
