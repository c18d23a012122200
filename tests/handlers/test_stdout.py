"""StdOutHandler and StreamingStdOutHandler: what they print, to any text stream."""

from __future__ import annotations

import io
import re

import pytest

from streamllm import FakeListLLM, LLMStart
from streamllm.handlers import StdOutHandler, StreamingStdOutHandler
from streamllm.testing import RecordingHandler
from tests.handlers.conftest import end_early, run_mode

INPUTS = ["first question", "second question", "third question"]


async def test_one_line_per_start_and_end(mode: str) -> None:
    """Each run prints a start line with the prompt and an end line with finish and usage."""
    out, recorder = io.StringIO(), RecordingHandler()
    model = FakeListLLM(responses=["Hello big world"])
    await run_mode(mode, model, INPUTS, [StdOutHandler(out), recorder])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 * len(INPUTS)
    for start in recorder.of_type(LLMStart):
        prefix = f"[run {str(start.run_id)[:8]}]"
        mine = [line for line in lines if line.startswith(prefix)]
        assert len(mine) == 2
        assert mine[0] == f"{prefix} fake: start (fake), prompt {start.prompt!r}"
        assert re.fullmatch(
            r"\[run \w{8}\] fake: end, finish stop, tokens \d+ in \+ 4 out = \d+ \(estimated\), "
            r"\d+\.\d{3}s",
            mine[1],
        ), mine[1]


async def test_a_run_that_ended_early_prints_its_reason(ending: str) -> None:
    """Failed and abandoned runs end with a line naming the reason and error."""
    out = io.StringIO()
    await end_early(ending, [StdOutHandler(out)])
    last = out.getvalue().splitlines()[-1]
    if ending.endswith("fail"):
        assert "failed, Boom: provider failed after 2 tokens (7 chars streamed)" in last
    else:
        assert "cancelled, GeneratorExit" in last
        assert "(7 chars streamed)" in last


def test_messages_and_long_prompts_are_previewed() -> None:
    """A long prompt is cut to the preview width; messages show the count and the last."""
    out = io.StringIO()
    handler = StdOutHandler(out, preview=10)
    model = FakeListLLM(responses=["ok"])
    model.invoke("a very\nlong prompt indeed", callbacks=[handler])
    model.invoke(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        callbacks=[handler],
    )
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("prompt 'a very lo…'")
    assert lines[2].endswith("2 message(s), last 'hi'")


def test_default_stream_is_stdout_at_write_time(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream, output goes to whatever sys.stdout is when it is written."""
    FakeListLLM(responses=["Hi there"]).invoke(
        "q", callbacks=[StreamingStdOutHandler(), StdOutHandler()]
    )
    out = capsys.readouterr().out
    assert out.startswith("[run ")
    assert "Hi there\n" in out


async def test_streaming_writes_the_tokens_then_a_newline(mode: str) -> None:
    """The tokens, in order, then one newline per run."""
    out = io.StringIO()
    model = FakeListLLM(responses=["Hello  big\tworld"])
    texts = await run_mode(mode, model, ["q"], [StreamingStdOutHandler(out)])
    assert out.getvalue() == texts[0] + "\n" == "Hello  big\tworld\n"


async def test_streaming_many_runs_writes_every_character(mode: str) -> None:
    """Concurrent runs may interleave tokens, but nothing is lost or duplicated."""
    out = io.StringIO()
    model = FakeListLLM(responses=["alpha beta", "gamma"])
    texts = await run_mode(mode, model, INPUTS, [StreamingStdOutHandler(out)])
    assert sorted(out.getvalue()) == sorted("".join(t + "\n" for t in texts))


async def test_streaming_a_run_that_ended_early(ending: str) -> None:
    """What streamed, then a newline, also when the run stops early."""
    out = io.StringIO()
    await end_early(ending, [StreamingStdOutHandler(out)])
    assert out.getvalue() == "one two\n"
