"""``bind``, ``with_config`` and per-call ``stop=`` (issue 14, LangChain habits):
what reaches the provider's request over real HTTP, what handlers see, and the
refusals at bind or call time, before any request or event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from streamllm import FakeChatModel, FakeListLLM, LLMStart
from streamllm.errors import ConfigurationError
from streamllm.models import Ollama
from streamllm.models.config import merge_configs
from streamllm.testing import RecordingHandler
from tests.models.loopback_chat import VENDORS
from tests.servers.ollama_server import OllamaServer
from tests.servers.vendor_server import VendorServer

#: Where each vendor's request body carries the stop sequences.
STOP_ON_WIRE: dict[str, Callable[[dict[str, Any]], Any]] = {
    "openai": lambda body: body.get("stop"),
    "anthropic": lambda body: body.get("stop_sequences"),
    "ollama": lambda body: body.get("options", {}).get("stop"),
}
MODES = ["invoke", "ainvoke", "stream", "astream", "batch", "abatch"]


async def call(model: Any, mode: str, prompt: Any = "hi", **kwargs: Any) -> Any:
    """Run ``model`` once in ``mode``, with ``kwargs`` passed to the method."""
    if mode == "invoke":
        return model.invoke(prompt, **kwargs)
    if mode == "ainvoke":
        return await model.ainvoke(prompt, **kwargs)
    if mode == "stream":
        return list(model.stream(prompt, **kwargs))
    if mode == "astream":
        return [c async for c in model.astream(prompt, **kwargs)]
    if mode == "batch":
        return model.batch([prompt], **kwargs)[0]
    return (await model.abatch([prompt], **kwargs))[0]


def text_of(out: Any) -> str:
    if isinstance(out, list):
        return "".join(c if isinstance(c, str) else c.text for c in out)
    return out if isinstance(out, str) else str(out.text)


# -- on the wire ----------------------------------------------------------------


@pytest.mark.parametrize("vendor", sorted(VENDORS))
@pytest.mark.parametrize("mode", MODES)
async def test_per_call_stop_reaches_each_vendor_request(
    vendor_server: VendorServer, vendor: str, mode: str
) -> None:
    """``stop=`` per call goes into that request only, where each vendor wants it,
    replacing the model's own ``stop``; LLMStart shows it for that run only."""
    script = vendor_server.serve(VENDORS[vendor].frames())
    model = VENDORS[vendor].model(script, stop=["END"])
    recorder = RecordingHandler()
    try:
        await call(model, mode, stop=["\n", "###"], callbacks=[recorder])
        await call(model, mode, callbacks=[recorder])
    finally:
        await model.aclose()
    first, second = script.bodies
    assert STOP_ON_WIRE[vendor](first) == ["\n", "###"]
    assert STOP_ON_WIRE[vendor](second) == ["END"]
    starts = recorder.of_type(LLMStart)
    assert [s.invocation_params.get("stop") for s in starts] == [["\n", "###"], ["END"]]


@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_bound_parameters_reach_each_vendor_request(
    vendor_server: VendorServer, vendor: str
) -> None:
    """``bind`` sends its parameters on every call of the copy; the original is unchanged."""
    script = vendor_server.serve(VENDORS[vendor].frames())
    model = VENDORS[vendor].model(script)
    bound = model.bind(stop="\n", temperature=0.0, max_tokens=5)
    try:
        await bound.ainvoke("hi")
        bound.invoke("hi", stop=[])  # an empty per-call list: no stop sequences this time
        await model.ainvoke("hi")
    finally:
        await bound.aclose()
        await model.aclose()
    with_bind, without_stop, original = script.bodies
    assert STOP_ON_WIRE[vendor](with_bind) == ["\n"]
    assert STOP_ON_WIRE[vendor](without_stop) is None
    assert STOP_ON_WIRE[vendor](original) is None
    temperature = with_bind["options"] if vendor == "ollama" else with_bind
    assert temperature["temperature"] == 0.0
    assert "temperature" not in (original.get("options", {}) if vendor == "ollama" else original)
    assert model.stop is None
    assert model.temperature is None


@pytest.mark.parametrize("mode", ["invoke", "astream", "generate", "agenerate"])
async def test_text_model_stop_and_bind_on_the_wire(ollama_server: OllamaServer, mode: str) -> None:
    """A text model (Ollama /api/generate) sends the bound and per-call parameters in
    ``options``, also from ``generate``."""
    model = Ollama(base_url=ollama_server.url, model="llama3.2").bind(top_p=0.5)
    try:
        if mode == "generate":
            model.generate(["a", "b"], stop=["\n"])
        elif mode == "agenerate":
            await model.agenerate(["a", "b"], stop=["\n"])
        else:
            await call(model, mode, stop=["\n"])
    finally:
        await model.aclose()
    n = 2 if "generate" in mode else 1
    bodies = [body for _, body in ollama_server.requests[-n:]]
    assert [b["options"]["stop"] for b in bodies] == [["\n"]] * n
    assert [b["options"]["top_p"] for b in bodies] == [0.5] * n


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": [""]}, "stop"),
        ({"stop": 3}, "stop"),
        ({"temprature": 0.1}, "temprature"),
        ({"callbacks": []}, "with_config(callbacks=...)"),
        ({"tools": []}, "bind_tools"),
        ({"base_url": "http://127.0.0.1:1"}, "base_url"),
    ],
)
def test_bind_refuses_at_bind_time(
    vendor_server: VendorServer, kwargs: dict[str, Any], names: str
) -> None:
    """An unknown name or a wrong value is a ConfigurationError naming it, when
    ``bind`` is called: no request is ever made."""
    script = vendor_server.serve(VENDORS["openai"].frames())
    model = VENDORS["openai"].model(script)
    with pytest.raises(ConfigurationError, match=names.replace("(", r"\(").replace(")", r"\)")):
        model.bind(**kwargs)
    model.close()
    assert script.requests == []


def test_bound_copy_keeps_every_method() -> None:
    """The copy is a model: bind_tools, with_structured_output, batch, generate and
    stream all use the bound parameters, and bind composes with with_config."""

    class City(BaseModel):
        name: str

    recorder = RecordingHandler()
    model = FakeChatModel(
        responses=[{"tool_calls": [{"name": "City", "args": {"name": "Paris"}}]}]
    ).with_config(callbacks=[recorder])
    structured = model.bind(temperature=0.5).with_structured_output(City)
    assert structured.invoke("where?") == City(name="Paris")
    tools = model.bind(max_tokens=7).bind_tools([City])
    assert tools.invoke("where?").tool_calls[0].name == "City"
    assert tools.generate(["a"]).generations[0][0].text == ""
    params = [s.invocation_params for s in recorder.of_type(LLMStart)]
    assert params[0]["temperature"] == 0.5
    assert all(p["max_tokens"] == 7 for p in params[1:])
    assert len(params) == 3  # the bound handler saw every run


# -- with_config ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_with_config_merges_under_the_call(mode: str) -> None:
    """The bound config's callbacks and the call's both see the run; tags add up
    (bound first), metadata merges with the call's winning, the call's run_name wins."""
    bound_handler, call_handler = RecordingHandler(), RecordingHandler()
    model = FakeListLLM(responses=["Hello world"], tags=["model"]).with_config(
        {"callbacks": [bound_handler], "metadata": {"a": 1, "b": 1}},
        tags=["bound"],
        run_name="bound-name",
        configurable={"ignored": True},
        recursion_limit=5,
    )
    config = {"tags": ["call", "bound"], "metadata": {"b": 2}, "callbacks": [call_handler]}
    await call(model, mode, config=config, run_name="call-name")
    await call(model, mode)
    for handler, runs in ((bound_handler, 2), (call_handler, 1)):
        starts = handler.of_type(LLMStart)
        assert len(starts) == runs
    first, second = bound_handler.of_type(LLMStart)
    assert first.tags == ("model", "bound", "call")
    assert dict(first.metadata) == {"a": 1, "b": 2}
    assert first.name == "call-name"
    assert second.tags == ("model", "bound")
    assert dict(second.metadata) == {"a": 1, "b": 1}
    assert second.name == "bound-name"


def test_with_config_bound_max_concurrency_limits_batches() -> None:
    """A bound ``max_concurrency`` limits batches (a single run accepts it), and a
    batch argument still wins."""
    active = peak = 0

    class Gauge(RecordingHandler):
        def on_event(self, event: Any) -> None:
            nonlocal active, peak
            name = type(event).__name__
            if name == "LLMStart":
                active += 1
                peak = max(peak, active)
            elif name in ("LLMEnd", "LLMError"):
                active -= 1

    model = FakeListLLM(responses=["a b c d"], delay=0.001).with_config(
        max_concurrency=1, callbacks=[Gauge()]
    )
    assert model.invoke("x") == "a b c d"
    asyncio.run(model.abatch(["x"] * 5))
    assert peak == 1
    asyncio.run(model.abatch(["x"] * 5, max_concurrency=5))
    assert peak > 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tags": "one"}, "tags"),
        ({"metadata": ["a"]}, "metadata"),
        ({"callbacks": print}, "callbacks"),
        ({"run_name": 3}, "run_name"),
        ({"run_id": "5f0f3c5e-4c4a-4e8e-9a57-0b5c1a2f6b11"}, "run_id"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"nope": 1}, "nope"),
    ],
)
def test_with_config_refuses_at_bind_time(kwargs: dict[str, Any], match: str) -> None:
    """A bad value is a ConfigurationError naming it when with_config is called,
    whether given as keywords or in the config dict."""
    model = FakeListLLM(responses=["x"])
    with pytest.raises(ConfigurationError, match=match):
        model.with_config(**kwargs)
    with pytest.raises(ConfigurationError, match=match):
        model.with_config(kwargs)  # type: ignore[arg-type]


def test_with_config_and_bind_copies_compose() -> None:
    """A with_config copy's bind keeps the config, and a second with_config adds to the first."""
    recorder = RecordingHandler()
    model = (
        FakeListLLM(responses=["a\nb"])
        .with_config(tags=["one"], callbacks=[recorder])
        .bind(stop=["\n"])
        .with_config(tags=["two"])
    )
    assert model.invoke("x") == "a"
    (start,) = recorder.of_type(LLMStart)
    assert start.tags == ("one", "two")


@given(
    st.lists(st.text("abc", min_size=1, max_size=2), max_size=4),
    st.lists(st.text("abc", min_size=1, max_size=2), max_size=4),
    st.dictionaries(st.sampled_from("xyz"), st.integers(), max_size=3),
    st.dictionaries(st.sampled_from("xyz"), st.integers(), max_size=3),
)
def test_merge_configs_as_langchain(
    base_tags: list[str], tags: list[str], base_meta: dict[str, int], meta: dict[str, int]
) -> None:
    """Tags add up in order (base first), metadata merges with the later config winning."""
    merged = merge_configs(
        {"tags": base_tags, "metadata": base_meta}, {"tags": tags, "metadata": meta}
    )
    assert list(merged.get("tags") or []) == base_tags + tags
    assert dict(merged.get("metadata") or {}) == {**base_meta, **meta}


# -- stop ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [*MODES, "stream_events", "astream_events", "generate"])
@pytest.mark.parametrize("stop", [5, [1], ["ok", None], {"a": 1}, [""]])
async def test_bad_stop_is_refused_before_any_event(mode: str, stop: Any) -> None:
    """A stop that is not a string or a list of non-empty strings is a
    ConfigurationError naming ``stop``, raised before any event."""
    recorder = RecordingHandler()
    for model in (FakeListLLM(responses=["x"]), FakeChatModel(responses=["x"])):
        with pytest.raises(ConfigurationError, match="stop"):
            if mode == "stream_events":
                list(model.stream_events("hi", stop=stop, callbacks=[recorder]))
            elif mode == "astream_events":
                [e async for e in model.astream_events("hi", stop=stop, callbacks=[recorder])]
            elif mode == "generate":
                model.generate(["hi"], stop=stop, callbacks=[recorder])
            else:
                await call(model, mode, stop=stop, callbacks=[recorder])
    assert recorder.events == []


@given(
    st.text("ab \n.", max_size=30),
    st.lists(st.text("ab\n.", min_size=1, max_size=3), min_size=1, max_size=3),
)
def test_fakes_cut_at_the_first_stop_sequence(text: str, stop: list[str]) -> None:
    """The fakes end their text where the first stop sequence begins (it is left
    out), the same through invoke and stream, text and chat."""
    ends = [i for i in (text.find(s) for s in stop) if i != -1]
    expected = text[: min(ends)] if ends else text
    llm = FakeListLLM(responses=[text])
    assert llm.invoke("q", stop=stop) == expected
    assert "".join(llm.stream("q", stop=stop)) == expected
    chat = FakeChatModel(responses=[text])
    answer = chat.invoke("q", stop=stop)
    assert answer.text == expected
    assert sum(chat.stream("q", stop=stop)).text == expected  # type: ignore[union-attr]
    if ends:
        assert answer.finish_reason == "stop"


def test_chat_stop_drops_what_follows_the_stop() -> None:
    """On a chat fake, the tool calls after the stop sequence are never "generated"."""
    model = FakeChatModel(
        responses=[{"text": "Let me check. END", "tool_calls": [{"name": "f", "args": {}}]}]
    )
    answer = model.invoke("q", stop="END")
    assert answer.text == "Let me check. "
    assert answer.tool_calls == ()
    assert answer.finish_reason == "stop"
    assert model.invoke("q").tool_calls[0].name == "f"


@pytest.mark.parametrize("mode", MODES)
async def test_stop_reaches_the_fakes_in_every_mode(mode: str) -> None:
    """Per-call stop acts in every Runnable method, sync and async, text and chat."""
    for model in (FakeListLLM(responses=["one. two"]), FakeChatModel(responses=["one. two"])):
        assert text_of(await call(model, mode, stop=["."])) == "one"
        assert text_of(await call(model.bind(stop=["two"]), mode)) == "one. "
