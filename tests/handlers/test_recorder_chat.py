"""JSONLRecorder and replay round-trip chat runs (block events) and tool runs,
for any message layout (property test)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamllm import FakeChatModel
from streamllm.callbacks.parent_runs import traced
from streamllm.handlers import JSONLRecorder, replay
from streamllm.testing import RecordingHandler
from streamllm.tools import tool

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_args = st.dictionaries(
    st.text("abcxyz", min_size=1, max_size=4),
    st.one_of(st.integers(-5, 5), _text, st.booleans(), st.none()),
    max_size=3,
)
_call = st.fixed_dictionaries({"name": st.sampled_from(["echo", "look_up"]), "args": _args})
_script = st.fixed_dictionaries(
    {},
    optional={
        "reasoning": _text.filter(bool),
        "text": _text.filter(bool),
        "tool_calls": st.lists(_call, min_size=1, max_size=3),
    },
).filter(bool)


@tool
def echo(value: str = "") -> str:
    """Says the value back.

    Args:
        value: What to say.
    """
    return value


def _run(script: dict[str, Any], handlers: list[Any], streaming: bool) -> None:
    model = FakeChatModel(responses=[script])

    @traced(name="turn", callbacks=handlers)
    def turn() -> None:
        if streaming:
            for _ in model.stream("go"):
                pass
        else:
            model.invoke("go")
        echo.invoke({"value": "x"})

    turn()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=_script, streaming=st.booleans())
def test_every_chat_and_tool_event_replays_equal(script: dict[str, Any], streaming: bool) -> None:
    live = RecordingHandler()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.jsonl"
        with JSONLRecorder(path) as recorder:
            _run(script, [recorder, live], streaming)
        again = RecordingHandler()
        replay(path, [again])
    assert again.events == live.events
    kinds = {type(e).__name__ for e in live.events}
    assert {"ToolStart", "ToolEnd", "ChainStart", "ChainEnd"} <= kinds
    if streaming:
        assert "BlockEnd" in kinds
