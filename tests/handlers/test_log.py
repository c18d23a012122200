"""LoggingHandler: one bound logger per run, levels, redaction, content only when asked."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from structlog.testing import CapturingLogger, capture_logs

from streamllm import FakeListLLM, LLMStart
from streamllm.handlers import LoggingHandler
from streamllm.handlers._redact import REDACTED, redact, redact_text
from streamllm.testing import RecordingHandler
from tests.handlers.conftest import end_early, run_mode

LOGGER = "streamllm.handlers.log"
SECRET = "sk-FAKEsecretKEY0123456789abcdef"
INPUTS = ["first", "second", "third"]


class KeyedLLM(FakeListLLM):
    """A fake model with an API key, as real providers have."""

    api_key: SecretStr | None = None


def _secret_model(**kw: Any) -> KeyedLLM:
    return KeyedLLM(
        responses=["the answer is forty two"],
        api_key=SecretStr(SECRET),
        metadata={
            "api_key": SECRET,
            "user": "ada",
            "nested": {"password": "hunter2"},
            "note": f"called with {SECRET}",
        },
        **kw,
    )


@pytest.fixture
def debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    return caplog


async def test_every_record_carries_the_run_id_and_no_secret(
    mode: str, debug: pytest.LogCaptureFixture
) -> None:
    """capture_logs: each record has its run's id; the API key appears nowhere."""
    recorder = RecordingHandler()
    with capture_logs() as logs:
        await run_mode(mode, _secret_model(), INPUTS, [LoggingHandler(), recorder])
    run_ids = {str(e.run_id) for e in recorder.of_type(LLMStart)}
    assert len(run_ids) == 3
    assert logs
    assert all(entry["run_id"] in run_ids for entry in logs)
    starts = [e for e in logs if e["event"] == "llm_start"]
    ends = [e for e in logs if e["event"] == "llm_end"]
    tokens = [e for e in logs if e["event"] == "llm_new_token"]
    assert {e["run_id"] for e in starts} == {e["run_id"] for e in ends} == run_ids
    assert len(tokens) == len(recorder.tokens())
    assert all(e["model"] == "fake" for e in logs)
    assert {e["log_level"] for e in starts + ends} == {"info"}
    assert {e["log_level"] for e in tokens} == {"debug"}
    assert SECRET not in repr(logs)
    assert "hunter2" not in repr(logs)
    assert starts[0]["metadata"]["api_key"] == REDACTED
    assert starts[0]["metadata"]["user"] == "ada"


async def test_stdlib_logging_sees_the_records(mode: str, debug: pytest.LogCaptureFixture) -> None:
    """Without capture_logs, records reach the standard library logger (caplog)."""
    await run_mode(mode, _secret_model(), ["q"], [LoggingHandler()])
    records = [r for r in debug.records if r.name == LOGGER]
    messages = [r.getMessage() for r in records]
    assert messages[0].startswith("llm_start")
    assert messages[-1].startswith("llm_end")
    assert all("run_id=" in m for m in messages)
    assert all(getattr(r, "streamllm")["run_id"] for r in records)  # noqa: B009
    assert SECRET not in debug.text
    assert "forty" not in debug.text, "content is logged only when asked"


async def test_tokens_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """At INFO the tokens are not logged at all; start and end are."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    FakeListLLM(responses=["a b c"]).invoke("q", callbacks=[LoggingHandler()])
    events = [r.getMessage().split()[0] for r in caplog.records if r.name == LOGGER]
    assert events == ["llm_start", "llm_end"]


async def test_a_run_that_ended_early_is_logged_as_an_error(
    ending: str, debug: pytest.LogCaptureFixture
) -> None:
    """Failed and abandoned runs log llm_error at error level with the reason."""
    with capture_logs() as logs:
        await end_early(ending, [LoggingHandler()])
    (error,) = [e for e in logs if e["event"] == "llm_error"]
    assert error["log_level"] == "error"
    assert error["reason"] == ("failed" if ending.endswith("fail") else "cancelled")
    assert error["text_chars"] == len("one two")
    assert len({e["run_id"] for e in logs}) == 1


async def test_content_only_when_asked(debug: pytest.LogCaptureFixture) -> None:
    """capture_content=True logs prompt, messages, tokens and text (secrets still redacted)."""
    model = FakeListLLM(responses=["hello there", "fine"])
    with capture_logs() as hidden:
        model.invoke("a secret plan", callbacks=[LoggingHandler()])
    assert "a secret plan" not in repr(hidden)
    assert "hello" not in repr(hidden)
    with capture_logs() as shown:
        handler = LoggingHandler(capture_content=True)
        model.invoke(f"my key is {SECRET}", callbacks=[handler])
        model.invoke([{"role": "user", "content": "hi"}], callbacks=[handler])
    start = shown[0]
    assert start["prompt"] == f"my key is {REDACTED}"
    assert [e["token"] for e in shown if e["event"] == "llm_new_token"][:1] == ["fine"]
    end = next(e for e in shown if e["event"] == "llm_end")
    assert end["text"] == "fine"
    message_start = [e for e in shown if e["event"] == "llm_start"][1]
    assert message_start["messages"] == [{"role": "user", "content": "hi"}]


def test_the_users_own_structlog_logger() -> None:
    """logger=... takes the user's structlog logger, bound once per run."""
    sink = CapturingLogger()
    handler = LoggingHandler(logger=structlog.wrap_logger(sink, processors=[]))
    recorder = RecordingHandler()
    FakeListLLM(responses=["a b"], tags=["blue"]).invoke("q", callbacks=[handler, recorder])
    run_id = str(recorder.events[0].run_id)
    assert [c.method_name for c in sink.calls] == ["info", "debug", "debug", "info"]
    for call in sink.calls:
        assert call.kwargs["run_id"] == run_id
        assert call.kwargs["tags"] == ["blue"]
    assert handler._runs == {}, "per-run loggers are dropped when the run ends"


def test_chain_runs_are_logged() -> None:
    """traced-style parent runs log chain_start and chain_end with their own id."""
    from streamllm import CallbackManager
    from streamllm.callbacks.registry import resolve_all

    sink = CapturingLogger()
    handler = LoggingHandler(logger=structlog.wrap_logger(sink, processors=[]))
    run = CallbackManager.configure(local=resolve_all([handler])).start_run(
        name="pipeline", sender=None
    )
    run.emit(run.chain_start_event({"q": "x"}))
    run.emit(run.chain_error_event(ValueError(f"bad key {SECRET}"), "failed"))
    assert [c.kwargs["event"] for c in sink.calls] == ["chain_start", "chain_error"]
    assert all(c.kwargs["run_id"] == str(run.run_id) for c in sink.calls)
    assert SECRET not in repr(sink.calls)
    assert "inputs" not in sink.calls[0].kwargs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"api_key": "x", "max_tokens": 5}, {"api_key": REDACTED, "max_tokens": 5}),
        ({"Authorization": "Bearer abc"}, {"Authorization": REDACTED}),
        ({"headers": {"x-api-key": "k"}}, {"headers": {"x-api-key": REDACTED}}),
        ({"access_token": "t", "tokens": 3}, {"access_token": REDACTED, "tokens": 3}),
        (["Bearer abcdefgh12345678"], [f"{REDACTED}"]),
        ("key AKIAABCDEFGHIJKLMNOP here", f"key {REDACTED} here"),
    ],
)
def test_redaction(value: object, expected: object) -> None:
    """Secret keys are masked whatever their value; credential-looking values anywhere."""
    assert redact(value) == expected


def test_redact_text_leaves_ordinary_text() -> None:
    """Words like 'sk-' alone or 'token' are not secrets."""
    assert redact_text("ask-me about tokens and sk-short") == "ask-me about tokens and sk-short"
