"""Issue 11, items 2, 4 and 6: batch interrupts, async clients across event
loops, and bad values refused before any provider call."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest

from streamllm import CallbackHandler, ConfigurationError, FakeListLLM, LLMError
from streamllm.models import ChatAnthropic, ChatOpenAI, Ollama
from streamllm.testing import RecordingHandler
from tests.models.helpers import check_runs
from tests.servers.fault_server import FaultServer

# -- 11.2: KeyboardInterrupt / SystemExit in a batch worker ---------------------


class Interrupts(CallbackHandler):
    """Raises ``exc`` on the first token of the input ``"stop"``, once every
    other run has started (so they are in flight)."""

    def __init__(self, exc: type[BaseException], runs: int) -> None:
        self.exc = exc
        self.started = threading.Barrier(runs)
        self.prompts: dict[Any, str] = {}

    def on_llm_start(self, event: Any) -> None:
        self.prompts[event.run_id] = event.prompt
        self.started.wait(5)

    def on_llm_new_token(self, event: Any) -> None:
        if self.prompts[event.run_id] == "stop":
            raise self.exc()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_batch_lets_an_interrupt_in_a_worker_reach_the_caller(exc: type[BaseException]) -> None:
    """Before: the interrupt came back as a value and the results list was
    shorter than the inputs. Now it is raised as itself, and the runs in
    flight end as cancelled."""
    inputs = ["a", "stop", "b", "c"]
    model = FakeListLLM(responses=[" ".join(["w"] * 200)], delay=0.002)
    interrupt, recorder = Interrupts(exc, len(inputs)), RecordingHandler()
    with pytest.raises(exc):
        model.batch(inputs, callbacks=[interrupt, recorder], max_concurrency=len(inputs))
    runs = check_runs(recorder.events)
    assert len(runs) == len(inputs)
    others = [e[-1] for run, e in runs.items() if interrupt.prompts[run] != "stop"]
    assert all(isinstance(t, LLMError) and t.reason == "cancelled" for t in others), others


def test_batch_results_are_as_long_as_the_inputs_with_return_exceptions() -> None:
    model = FakeListLLM(responses=["x"])
    inputs = [f"p{i}" for i in range(40)]
    assert len(model.batch(inputs, return_exceptions=True, max_concurrency=8)) == len(inputs)


# -- 11.4: async clients do not outlive their event loop -------------------------


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_asyncio_run_ten_times_leaves_no_sockets_open(fault_server: FaultServer) -> None:
    """Before: each loop's AsyncClient stayed in the model with its connection,
    ten loops ten open sockets, and neither close() nor aclose() reached them."""
    model = ChatOpenAI(base_url=fault_server.base_url("ok", "loops", 0), api_key="sk-loop")
    before = _open_sockets()
    for _ in range(10):
        assert asyncio.run(model.ainvoke("hi")).text == "Hello wörld!"
    # The server runs in this process: its side of a closed connection closes
    # a moment later, on its own thread.
    deadline = time.monotonic() + 2.0
    while _open_sockets() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _open_sockets() - before == 0
    model.close()


def test_close_releases_a_live_loops_client(fault_server: FaultServer) -> None:
    """close() from outside the loop closes the client that loop made."""
    model = ChatOpenAI(base_url=fault_server.base_url("ok", "close", 0), api_key="sk-close")
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(model.ainvoke("hi"))
        client = model._clients.async_client(loop)
        assert client is not None
        model.close()
        assert client.is_closed
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def test_bound_copies_share_the_connection_pool(fault_server: FaultServer) -> None:
    """bind/with_config/bind_tools copies open no sockets of their own: a bound
    copy per request (as the web app makes) must not leak a pool per copy."""
    model = ChatOpenAI(base_url=fault_server.base_url("ok", "share", 0), api_key="sk-share")
    copies = [model.bind(temperature=0.5), model.with_config(tags=["t"]), model.bind_tools([])]
    try:
        assert copies[0].invoke("hi").text == model.invoke("hi").text
        assert all(c._clients is model._clients for c in copies)
        assert copies[0]._clients.sync() is model._clients.sync()
    finally:
        model.close()


# -- 11.6: typed errors naming the argument, before any provider call -------------


class Called(CallbackHandler):
    def __init__(self) -> None:
        self.started = 0

    def on_llm_start(self, event: Any) -> None:
        self.started += 1


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda m, cb: m.invoke("hi", config=["x"], callbacks=[cb]), "config"),
        (lambda m, cb: m.invoke("hi", metadata=["x"], callbacks=[cb]), "metadata"),
        (lambda m, cb: m.invoke("hi", config={"metadata": ["x"], "callbacks": [cb]}), "metadata"),
        (lambda m, cb: m.invoke("hi", config={"tagz": ["x"]}, callbacks=[cb]), "tagz"),
        (lambda m, cb: m.batch(["a"], max_concurrency=0, callbacks=[cb]), "max_concurrency"),
        (lambda m, cb: m.batch(["a"], config={"max_concurrency": True}), "max_concurrency"),
    ],
)
def test_bad_call_values_are_configuration_errors(call: Any, named: str) -> None:
    model, called = FakeListLLM(responses=["x"]), Called()
    with pytest.raises(ConfigurationError, match=named):
        call(model, called)
    assert called.started == 0


def test_langchain_config_keys_are_accepted() -> None:
    model = FakeListLLM(responses=["x"])
    assert model.invoke("hi", config={"configurable": {}, "recursion_limit": 25}) == "x"


@pytest.mark.parametrize("cls", [ChatOpenAI, ChatAnthropic, Ollama])
@pytest.mark.parametrize("url", ["http://[::1/v1", "not a url", "ftp://host/v1", "http:///v1"])
def test_a_bad_base_url_is_refused_at_construction(cls: Any, url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        cls(base_url=url, api_key="sk-x")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("streaming", "yes"),
        ("streaming", 1),
        ("max_tokens", True),
        ("max_tokens", "5"),
        ("temperature", "0.5"),
        ("temperature", False),
    ],
)
def test_models_do_not_coerce(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        FakeListLLM(responses=["x"], **{field: value})
    model = FakeListLLM(responses=["x"])
    with pytest.raises(ConfigurationError, match=field):
        setattr(model, field, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_retries", True), ("idle_timeout", "5"), ("stream_usage", "no"), ("base_url", 5)],
)
def test_http_fields_do_not_coerce(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        ChatOpenAI(**{"base_url": "http://127.0.0.1:1/v1", field: value})


def test_ints_are_still_accepted_for_float_fields() -> None:
    model = ChatOpenAI(base_url="http://127.0.0.1:1/v1", idle_timeout=5, temperature=1)
    assert model.idle_timeout == 5


# -- 11.3 (the model's side): invocation_params are read-only ----------------------


class Writes(CallbackHandler):
    def __init__(self) -> None:
        self.refused = 0

    def on_llm_start(self, event: Any) -> None:
        try:
            event.invocation_params["temperature"] = 2.0
        except TypeError:
            self.refused += 1


def test_a_handler_cannot_change_the_models_parameters() -> None:
    """Before: LLMStart.invocation_params was the model's cached dict, so a
    handler's write changed this request and every later one."""
    model, writer = FakeListLLM(responses=["x"], temperature=0.5), Writes()
    model.invoke("hi", callbacks=[writer])
    model.invoke("hi", callbacks=[writer])
    assert writer.refused == 2
    assert model.invocation_params["temperature"] == 0.5
