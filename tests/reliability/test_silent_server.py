"""Silent servers (issue 11.1): every timeout fires on time while the server
sends nothing, sync and async, for every HTTP provider.

Before the fix the socket read timeout was the longer of ``first_token_timeout``
and ``idle_timeout`` and the shorter one was checked only when bytes arrived:
a server silent for 10 s made a 0.4 s timeout wait the whole 10 s. The bound
asserted here (well under the server's silence) tells "fired on its own"
from "waited for the server"; it is not a performance figure.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streamllm import LLMError, ProviderTimeout
from streamllm.models import ChatAnthropic, ChatOpenAI, Ollama, OpenAI
from streamllm.models.http import HTTPProvider
from streamllm.testing import RecordingHandler
from tests.models.helpers import check_run
from tests.models.http_helpers import run_stream
from tests.servers.silent_server import SILENCE, TOKENS, SilentServer

LIMIT = 0.4  # the timeout under test, seconds
LONG = 30.0  # the other token timeout: far longer than the server's silence
MARGIN = 1.5  # fired on its own: well before the server's 10 s silence ends

PROVIDERS: dict[str, tuple[type[HTTPProvider], str]] = {
    "OpenAI": (OpenAI, "/v1"),
    "ChatOpenAI": (ChatOpenAI, "/v1"),
    "ChatAnthropic": (ChatAnthropic, ""),
    "Ollama": (Ollama, ""),
}
MODES = ["sync", "async"]


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer().start()
    yield server
    server.stop()


def _model(server: SilentServer, provider: str, shape: str, gap: float = 0.0, **kw: Any) -> Any:
    cls, root = PROVIDERS[provider]
    return cls(base_url=server.url(shape, gap, root), api_key="sk-silent-test", max_retries=0, **kw)


async def _timed(
    model: HTTPProvider, mode: str
) -> tuple[list[str], BaseException | None, float, RecordingHandler]:
    recorder = RecordingHandler()
    started = time.monotonic()
    prompt: Any = [{"role": "user", "content": "hi"}] if isinstance(model, Ollama) else "hi"
    tokens, error = await run_stream(model, mode, prompt, callbacks=[recorder])
    elapsed = time.monotonic() - started
    if mode == "sync":
        model.close()
    else:
        await model.aclose()
    return tokens, error, elapsed, recorder


def _check_timeout(
    error: BaseException | None, recorder: RecordingHandler, phase: str, parameter: str
) -> None:
    assert isinstance(error, ProviderTimeout), repr(error)
    assert error.phase == phase
    assert parameter in str(error)
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "timeout"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("shape", ["no_headers", "preamble"])
async def test_first_token_timeout_fires_while_the_server_is_silent(
    silent: SilentServer, provider: str, mode: str, shape: str
) -> None:
    """No token at all (no headers, or only the frames before the text): the
    first-token timeout fires at its value, not when the server speaks."""
    model = _model(silent, provider, shape, first_token_timeout=LIMIT, idle_timeout=LONG)
    tokens, error, elapsed, recorder = await _timed(model, mode)
    assert tokens == []
    _check_timeout(error, recorder, "first_token", "first_token_timeout")
    assert LIMIT * 0.9 <= elapsed < LIMIT + MARGIN < SILENCE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_idle_timeout_fires_while_the_server_is_silent(
    silent: SilentServer, provider: str, mode: str
) -> None:
    """One token, then silence: the idle timeout fires, though the first-token
    timeout (and so the old socket read timeout) is far longer."""
    model = _model(silent, provider, "token", first_token_timeout=LONG, idle_timeout=LIMIT)
    tokens, error, elapsed, recorder = await _timed(model, mode)
    assert tokens == [TOKENS[0]]
    _check_timeout(error, recorder, "idle", "idle_timeout")
    assert elapsed < LIMIT + MARGIN < SILENCE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["ChatOpenAI", "ChatAnthropic"])
async def test_a_pause_between_tokens_within_idle_timeout_is_fine(
    silent: SilentServer, provider: str, mode: str
) -> None:
    """A pause longer than the first-token timeout but within the idle timeout,
    after the first token, does not end the stream."""
    model = _model(silent, provider, "gap", gap=0.6, first_token_timeout=0.3, idle_timeout=3.0)
    tokens, error, _, recorder = await _timed(model, mode)
    assert error is None, repr(error)
    assert tokens == list(TOKENS)
    check_run(recorder.events)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listen queue is full: a new connection's handshake is never
    answered, as with a host that drops packets (on loopback, in-process)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue (its size is backlog + 1 on Linux)
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # the handshake goes on in the kernel
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.parametrize("mode", MODES)
async def test_connect_timeout_fires_on_time(unanswered_port: int, mode: str) -> None:
    """A connection that never opens ends at connect_timeout, named as such."""
    model = ChatOpenAI(
        base_url=f"http://127.0.0.1:{unanswered_port}/v1",
        api_key="sk-silent-test",
        max_retries=0,
        connect_timeout=LIMIT,
        first_token_timeout=LONG,
    )
    _, error, elapsed, recorder = await _timed(model, mode)
    _check_timeout(error, recorder, "connect", "connect_timeout")
    assert elapsed < LIMIT + MARGIN
