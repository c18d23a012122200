"""Fault tests against the loopback server: each misbehaviour ends in the right
typed error or a successful retry, with one terminal event, no connection in
use and no task left behind."""

from __future__ import annotations

import uuid

import pytest

from streamllm import LLMEnd, LLMError, TokenUsage
from streamllm.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimitError,
    StreamLLMError,
    StreamProtocolError,
)
from streamllm.models import ChatOpenAI, OpenAI
from streamllm.testing import RecordingHandler
from tests.models.http_helpers import busy_connections, model_client, other_tasks, run_stream
from tests.servers.fault_server import TOKENS, USAGE, FaultServer

ALL = list(TOKENS)
CASES = [
    # fault, how many requests suffer it, expected error, tokens delivered, requests made
    ("ok", 0, None, ALL, 1),
    ("429", 2, None, ALL, 3),
    ("429_date", 1, None, ALL, 2),
    ("500", 1, None, ALL, 2),
    ("503", 2, None, ALL, 3),
    ("drop_early", 1, None, ALL, 2),
    ("slow_first_byte", 1, None, ALL, 1),
    ("429", 3, RateLimitError, [], 3),
    ("500", 3, ProviderStatusError, [], 3),
    ("401", 1, AuthenticationError, [], 1),
    ("drop", 1, ProviderConnectionError, ALL[:2], 1),
    ("truncate", 1, StreamProtocolError, ALL[:1], 1),
    ("malformed", 1, StreamProtocolError, ALL[:1], 1),
    ("error_frame", 1, ProviderError, ALL[:1], 1),
    ("stall", 1, ProviderTimeout, ALL[:2], 1),
    ("stall_early", 1, ProviderTimeout, [], 1),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("fault", "times", "error", "tokens", "requests"), CASES)
async def test_fault(
    fault_server: FaultServer,
    mode: str,
    fault: str,
    times: int,
    error: type[StreamLLMError] | None,
    tokens: list[str],
    requests: int,
) -> None:
    """The fault gives its typed error (or a retried success) and leaves nothing open."""
    key = uuid.uuid4().hex
    stalls = fault.startswith("stall")
    model = ChatOpenAI(
        base_url=fault_server.base_url(fault, key, times),
        retry_base_delay=0.01,
        first_token_timeout=0.3 if stalls else 10.0,
        idle_timeout=0.3 if stalls else 10.0,
    )
    recorder = RecordingHandler()
    try:
        got, exc = await run_stream(model, mode, callbacks=[recorder])
        assert busy_connections(model_client(model, mode)) == 0
        assert not other_tasks()
    finally:
        await model.aclose()
    assert got == tokens
    assert fault_server.requests(key) == requests
    terminal = [e for e in recorder.events if isinstance(e, LLMEnd | LLMError)]
    assert len(terminal) == 1
    assert terminal[0] is recorder.events[-1]
    if error is None:
        assert exc is None
        assert isinstance(terminal[0], LLMEnd)
        assert terminal[0].result.retries == requests - 1
        assert terminal[0].result.usage == TokenUsage.of(
            USAGE["prompt_tokens"], USAGE["completion_tokens"], "provider"
        )
        assert terminal[0].result.finish_reason == "stop"
    else:
        assert type(exc) is error
        assert isinstance(terminal[0], LLMError)
        assert terminal[0].reason == ("timeout" if error is ProviderTimeout else "failed")
        assert terminal[0].partial.text == "".join(tokens)
        assert terminal[0].error.type == error.__name__


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_no_retry_after_a_token(fault_server: FaultServer, mode: str) -> None:
    """A stream that breaks after its first token is not retried, even with retries left."""
    key = uuid.uuid4().hex
    model = ChatOpenAI(base_url=fault_server.base_url("drop", key, 1), max_retries=5)
    try:
        tokens, exc = await run_stream(model, mode)
    finally:
        await model.aclose()
    assert tokens == ALL[:2]
    assert isinstance(exc, ProviderConnectionError)
    assert fault_server.requests(key) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_abandoned_stream_closes_its_connection(fault_server: FaultServer, mode: str) -> None:
    """Stopping after the first token closes the response: no connection stays busy."""
    model = ChatOpenAI(base_url=fault_server.base_url("stall", uuid.uuid4().hex, 1))
    recorder = RecordingHandler()
    try:
        if mode == "sync":
            stream = model.stream("hi", callbacks=[recorder])
            assert next(stream).text == "Hello"
            stream.close()
        else:
            astream = model.astream("hi", callbacks=[recorder])
            assert (await anext(astream)).text == "Hello"
            await astream.aclose()
        assert busy_connections(model_client(model, mode)) == 0
        assert not other_tasks()
    finally:
        await model.aclose()
    terminal = recorder.events[-1]
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"


async def test_legacy_completions_through_the_server(fault_server: FaultServer) -> None:
    """OpenAI (legacy /completions) streams the same text and usage."""
    key = uuid.uuid4().hex
    async with OpenAI(base_url=fault_server.base_url("ok", key, 0)) as model:
        result = await model.agenerate(["hi"])
    assert result.text == "".join(TOKENS)
    assert result.usage is not None
    assert result.usage.source == "provider"
    assert fault_server.bodies[key][0]["prompt"] == "hi"


async def test_many_concurrent_streams_share_one_pool(fault_server: FaultServer) -> None:
    """Two hundred concurrent streams on one model all finish; the pool ends idle."""
    model = ChatOpenAI(base_url=fault_server.base_url("ok", uuid.uuid4().hex, 0))
    try:
        results = await model.abatch(["hi"] * 200)
        assert [r.text for r in results] == ["".join(TOKENS)] * 200
        assert busy_connections(model_client(model, "async")) == 0
    finally:
        await model.aclose()


def test_unreachable_server_is_a_connection_error_after_retries() -> None:
    """Nothing listening: connect errors are retried, then ProviderConnectionError."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with ChatOpenAI(base_url=f"http://127.0.0.1:{port}/v1", retry_base_delay=0.01) as model:
        with pytest.raises(ProviderConnectionError) as info:
            model.invoke("hi")
        assert f"127.0.0.1:{port}" in str(info.value)
