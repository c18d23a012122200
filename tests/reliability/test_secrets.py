"""Secrets: the API keys used by provider runs appear in no event, log record,
repr or message of a model or an error, recording, or CLI output (issue 7)."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from streamllm import BaseLLM, StreamLLMError
from streamllm.handlers import JSONLRecorder, LoggingHandler
from streamllm.models import ChatAnthropic, ChatOpenAI, OpenAI
from streamllm.testing import RecordingHandler

OPENAI_KEY = "sk-test-SECRET-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-SECRET-anthropic-9876543210"
KEYS = (OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY[-12:], ANTHROPIC_KEY[-12:])


def _openai_ok(request: httpx.Request) -> httpx.Response:
    frames = [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hello"}}]},
        {"choices": [{"index": 0, "delta": {"content": " there"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ]
    body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def _reflect_key(status: int) -> Callable[[httpx.Request], httpx.Response]:
    """A server that puts the key it received into its error, as some do."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("authorization", "") + request.headers.get("x-api-key", "")
        return httpx.Response(
            status,
            json={"error": {"message": f"bad key {key}", "type": "invalid_request_error"}},
            headers={"retry-after": "0"},
        )

    return handler


def _broken_stream(request: httpx.Request) -> httpx.Response:
    key = request.headers.get("authorization", "") + request.headers.get("x-api-key", "")
    body = f'data: {{"choices": [{{"delta": {{"content": "Hi"}}}}]}}\n\ndata: {{oops {key}\n\n'
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def _anthropic_ok(request: httpx.Request) -> httpx.Response:
    events = [
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            },
        ),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 1},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def _connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot connect; headers were {dict(request.headers)}")


SCENARIOS: list[tuple[str, Callable[[httpx.MockTransport], BaseLLM]]] = []
for name, handler in [
    ("ok", _openai_ok),
    ("401", _reflect_key(401)),
    ("429", _reflect_key(429)),
    ("500", _reflect_key(500)),
    ("broken", _broken_stream),
    ("connect", _connect_error),
]:
    for cls in (ChatOpenAI, OpenAI):
        SCENARIOS.append(
            (
                f"{cls.__name__}-{name}",
                lambda t, cls=cls, h=handler: cls(
                    api_key=OPENAI_KEY,
                    max_retries=1,
                    retry_base_delay=0.0,
                    http_client=httpx.Client(transport=httpx.MockTransport(h)),
                ),
            )
        )
for name, handler in [
    ("ok", _anthropic_ok),
    ("401", _reflect_key(401)),
    ("broken", _broken_stream),
    ("connect", _connect_error),
]:
    SCENARIOS.append(
        (
            f"ChatAnthropic-{name}",
            lambda t, h=handler: ChatAnthropic(
                api_key=ANTHROPIC_KEY,
                max_retries=1,
                retry_base_delay=0.0,
                http_client=httpx.Client(transport=httpx.MockTransport(h)),
            ),
        )
    )


def _assert_clean(what: str, text: str) -> None:
    for key in KEYS:
        where = text[max(0, text.find(key) - 80) :][:200]
        assert key not in text, f"a key leaked into {what}: ...{where}"


@pytest.mark.parametrize(("name", "make"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_no_key_anywhere(
    name: str, make: Callable[[Any], BaseLLM], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Run the provider through a scenario; look for the key in all it produced."""
    caplog.set_level(logging.DEBUG)
    model = make(None)
    recorder, path = RecordingHandler(), tmp_path / "events.jsonl"
    jsonl = JSONLRecorder(path)
    texts: list[tuple[str, str]] = [
        ("model repr", repr(model)),
        ("model str", str(model)),
        ("model dump", model.model_dump_json()),
    ]
    with capture_logs() as captured:
        try:
            model.invoke(
                "Tell me a joke.", callbacks=[recorder, jsonl, LoggingHandler(capture_content=True)]
            )
        except StreamLLMError as exc:
            texts += [
                ("error str", str(exc)),
                ("error repr", repr(exc)),
                ("traceback", "".join(traceback.format_exception(exc))),
                ("error attributes", repr(vars(exc))),
            ]
    # A second pass without capture_logs so the standard library records exist too.
    with contextlib.suppress(StreamLLMError):
        list(model.stream("again", callbacks=[LoggingHandler(capture_content=True)]))
    jsonl.close()
    model.close()
    texts += [("event", e.model_dump_json()) for e in recorder.events]
    texts += [("event repr", repr(e)) for e in recorder.events]
    texts.append(("recording", path.read_text()))
    texts += [("structlog record", repr(entry)) for entry in captured]
    texts += [("log record", f"{r.getMessage()} {vars(r)}") for r in caplog.records]
    texts += [
        ("log traceback", logging.Formatter().formatException(r.exc_info))
        for r in caplog.records
        if r.exc_info
    ]
    assert recorder.events, "the scenario produced events"
    for what, text in texts:
        _assert_clean(what, text)


def test_no_key_in_cli_output(tmp_path: Path, llama_server_url: str) -> None:
    """The command line, with keys in its environment, prints none of them:
    a real run against llama-server, its recording, and an unreachable server."""
    env = {
        "OPENAI_API_KEY": OPENAI_KEY,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "PATH": str(Path(sys.executable).parent),
    }
    runs = [
        [
            "--provider",
            "chat-openai",
            "--base-url",
            f"{llama_server_url}/v1",
            "--max-tokens",
            "8",
            "--show",
            "tokens,usage,latency,events",
            "--record",
            str(tmp_path / "a.jsonl"),
            "Hello",
        ],
        [
            "--provider",
            "anthropic",
            "--base-url",
            llama_server_url,
            "--max-tokens",
            "8",
            "--json",
            "Hello",
        ],
        ["--provider", "chat-openai", "--base-url", "http://127.0.0.1:9/v1", "Hello"],
    ]
    for args in runs:
        done = subprocess.run(
            [sys.executable, "-m", "streamllm", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        _assert_clean(f"CLI output of {args}", done.stdout + done.stderr)
    _assert_clean("CLI recording", (tmp_path / "a.jsonl").read_text())
