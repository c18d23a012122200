"""``StreamLLMCallbackHandler``: a LangChain (or LangGraph) app's callbacks as streamllm events.

The handlers here only deliver the steps :class:`~._translate_in.Inbound`
builds (its methods carry LangChain's hook signatures), through each run's own
streamllm run manager, so streamllm handlers see exactly what a streamllm
model would give them. A streamllm handler with ``raise_error`` failing ends
its run (``LLMError(reason="failed")``) and raises :class:`HandlerError` into
LangChain, which stops the LangChain run (the bridge sets LangChain's
``raise_error`` then); LangChain's own error callback for that run is
expected and dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler

from streamllm.callbacks.registry import Handler, resolve_all
from streamllm.callbacks.run import Mode
from streamllm.errors import ConfigurationError, HandlerError
from streamllm.integrations._runs import Runs
from streamllm.integrations._translate_in import Inbound, Step

__all__ = ["AsyncStreamLLMCallbackHandler", "StreamLLMCallbackHandler"]


class _Bridge:
    """What both bridge handlers share: the streamllm side, and LangChain's flags."""

    #: Cheap and in order: no executor hop per callback in LangChain's async manager.
    run_inline = True
    raise_error: bool

    def __init__(self, handlers: Sequence[Handler], mode: Mode) -> None:
        for handler in handlers if isinstance(handlers, list | tuple) else ():
            if isinstance(handler, BaseCallbackHandler):
                raise ConfigurationError(
                    f"{type(handler).__qualname__} is a LangChain handler: attach it to the "
                    f"LangChain app itself, or wrap it: from_langchain(handler)"
                )
        entries = resolve_all(handlers)  # a bad handler fails here, not mid-run
        self.raise_error = any(e.raise_error for e in entries)
        self._in = Inbound(Runs(entries, self, mode))

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_retry(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True


class StreamLLMCallbackHandler(_Bridge, BaseCallbackHandler):
    """A langchain-core handler delivering a LangChain app's runs to streamllm handlers.

    >>> from langchain_core.language_models import FakeListLLM
    >>> from streamllm.handlers import ResultCollector
    >>> from streamllm.integrations.langchain import StreamLLMCallbackHandler
    >>> collector = ResultCollector()
    >>> FakeListLLM(responses=["Hi"]).invoke(
    ...     "Hello", config={"callbacks": [StreamLLMCallbackHandler([collector])]}
    ... )
    'Hi'
    >>> [r.text for r in collector.results.values()]
    ['Hi']

    Model runs become streamllm LLM runs, chains (and LangGraph nodes) chain
    runs, tools tool runs (``ToolStart`` named for the tool, ``ToolEnd`` with the
    output, a ``ToolMessage``'s content, or ``ToolError``).
    Like a streamllm model's runs, they also reach streamllm's global and scoped
    handlers (``set_global_handlers``, ``with tracing(...)``,
    ``STREAMLLM_TRACING``), and a LangChain call inside a ``traced`` block is a
    run under it, in its trace; ``StreamLLMCallbackHandler()`` with no handlers
    of its own delivers to those alone.
    Use :class:`AsyncStreamLLMCallbackHandler` in async apps whose streamllm
    handlers are async.
    """

    def __init__(self, handlers: Sequence[Handler] = ()) -> None:
        super().__init__(handlers, "sync")

    def _send(self, step: Step | None, terminal: bool = False) -> None:
        if step is None:
            return
        opened, events = step
        run = opened.run
        try:
            if terminal:
                for event in events[:-1]:
                    run.emit(event)
                run.finish(events[-1])
            else:
                for event in events:
                    run.emit(event)
        except HandlerError as exc:
            if not run.done:
                # The first failure is the one LangChain gets.
                with contextlib.suppress(HandlerError):
                    run.finish(self._in.runs.handler_failed(opened, exc))
            raise

    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        step = self._in.token(token, chunk, run_id, parent_run_id, tags)
        if step is not None:
            self._send(step)


class AsyncStreamLLMCallbackHandler(_Bridge, AsyncCallbackHandler):
    """:class:`StreamLLMCallbackHandler` for async apps: streamllm's async handlers
    are awaited inline, in order, on the app's loop (the sync bridge runs them
    on streamllm's background loop and waits for them at each run's end)."""

    def __init__(self, handlers: Sequence[Handler] = ()) -> None:
        super().__init__(handlers, "async")

    async def _send(self, step: Step | None, terminal: bool = False) -> None:
        if step is None:
            return
        opened, events = step
        run = opened.run
        try:
            if terminal:
                for event in events[:-1]:
                    await run.aemit(event)
                await run.afinish(events[-1])
            else:
                for event in events:
                    await run.aemit(event)
        except HandlerError as exc:
            if not run.done:
                with contextlib.suppress(HandlerError):
                    await run.afinish(self._in.runs.handler_failed(opened, exc))
            raise

    async def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        step = self._in.token(token, chunk, run_id, parent_run_id, tags)
        if step is not None:
            await self._send(step)


# LangChain's other hooks go through as they come (Inbound's methods type them):
# one table, whether each hook ends its run, installed on both handlers below.
_HOOKS = {
    "on_llm_start": False,
    "on_chat_model_start": False,
    "on_llm_end": True,
    "on_llm_error": True,
    "on_chain_start": False,
    "on_chain_end": True,
    "on_chain_error": True,
    "on_tool_start": False,
    "on_tool_end": True,
    "on_tool_error": True,
}


def _forward(hook: str, terminal: bool) -> Callable[..., None]:
    build = getattr(Inbound, hook)  # the plain function: no lookup by name per call

    def forward(self: StreamLLMCallbackHandler, *args: Any, **kwargs: Any) -> None:
        self._send(build(self._in, *args, **kwargs), terminal)

    return forward


def _aforward(hook: str, terminal: bool) -> Callable[..., Coroutine[Any, Any, None]]:
    build = getattr(Inbound, hook)

    async def forward(self: AsyncStreamLLMCallbackHandler, *args: Any, **kwargs: Any) -> None:
        await self._send(build(self._in, *args, **kwargs), terminal)

    return forward


for _cls, _make in (
    (StreamLLMCallbackHandler, _forward),
    (AsyncStreamLLMCallbackHandler, _aforward),
):
    for _hook, _terminal in _HOOKS.items():
        _method: Any = _make(_hook, _terminal)
        _method.__name__ = _hook
        _method.__qualname__ = f"{_cls.__qualname__}.{_hook}"
        setattr(_cls, _hook, _method)
del _cls, _make, _hook, _terminal, _method
