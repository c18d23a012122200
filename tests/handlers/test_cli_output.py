"""What the CLI prints for chat runs and tool runs (streamllm/_cli_output.py)."""

from __future__ import annotations

import io
from typing import Any

from streamllm import FakeChatModel
from streamllm._cli_output import EventLines, JSONLines, TokenText
from streamllm.callbacks.parent_runs import traced
from streamllm.events import parse_event
from streamllm.testing import RecordingHandler
from streamllm.tools import tool


@tool
def get_weather(city: str) -> str:
    """The weather now in a city.

    Args:
        city: The city's name.
    """
    return f"22 C in {city}"


SCRIPT = {
    "reasoning": "Need the weather.",
    "text": "Checking.",
    "tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}}],
}


def _turn(handlers: list[Any]) -> None:
    model = FakeChatModel(responses=[SCRIPT])

    @traced(name="turn", callbacks=handlers)
    def turn() -> None:
        reply = None
        for chunk in model.stream("Weather?"):
            reply = chunk if reply is None else reply + chunk
        assert reply is not None
        for call in reply.tool_calls:
            get_weather.invoke(call)

    turn()


def test_json_lines_carry_every_event_and_read_back_equal() -> None:
    out, live = io.StringIO(), RecordingHandler()
    _turn([JSONLines(out), live])
    back = [parse_event(line) for line in out.getvalue().splitlines()]
    assert back == live.events
    kinds = {e.type for e in back}
    assert {"block_start", "block_delta", "block_end", "tool_start", "tool_end"} <= kinds


def test_event_lines_describe_blocks_and_tool_runs() -> None:
    out = io.StringIO()
    _turn([EventLines(out)])
    text = out.getvalue()
    assert "block_start block=0 kind=reasoning" in text
    assert "tool=get_weather" in text
    assert "tool_start tool=get_weather args=['city']" in text


def test_token_text_shows_reasoning_and_tools_when_asked() -> None:
    plain, rich = io.StringIO(), io.StringIO()
    _turn([TokenText(plain)])
    _turn([TokenText(rich, reasoning=True, tools=True)])
    assert "Need the weather." not in plain.getvalue()
    assert "[reasoning] Need the weather." in rich.getvalue()
    assert "[tool call get_weather]" in rich.getvalue()
