"""``from_langchain(handler)``: a LangChain callback handler as a streamllm handler.

The shells here only call hooks; :class:`~._translate_out.Translator` decides
which hook gets which arguments. A handler that does not override LangChain's
``on_llm_new_token`` (or sets ``ignore_llm``) gets a shell without a token hook,
so streamllm builds no ``NewToken`` for it at all.
"""

from __future__ import annotations

from typing import TypeVar, cast

from langchain_core.callbacks import AsyncCallbackHandler as LCAsyncHandler
from langchain_core.callbacks import BaseCallbackHandler

from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.errors import ConfigurationError
from streamllm.events import (
    BlockDelta,
    BlockStart,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    ToolEnd,
    ToolError,
    ToolStart,
)
from streamllm.integrations._translate_out import Call, Translator

__all__ = ["AsyncLangChainHandler", "LangChainHandler", "from_langchain"]

H = TypeVar("H", bound=type)


class LangChainHandler(CallbackHandler):
    """A sync langchain-core handler receiving streamllm's runs as LangChain callbacks.

    Build it with :func:`from_langchain`; ``handler`` is the LangChain handler.
    """

    def __init__(self, handler: BaseCallbackHandler) -> None:
        self.handler = handler
        self._t = Translator(handler)
        self._runs = self._t.runs

    def __repr__(self) -> str:
        return f"from_langchain({self.handler!r})"

    def _call(self, call: Call | None) -> None:
        if call is not None:
            name, args, kwargs = call
            getattr(self.handler, name)(*args, **kwargs)

    def on_llm_start(self, event: LLMStart) -> None:
        call = self._t.start(event)
        try:
            self._call(call)
        except NotImplementedError:
            if call is None or (fallback := self._t.fallback(call)) is None:
                raise
            self._call(fallback)

    def on_llm_end(self, event: LLMEnd) -> None:
        self._call(self._t.end(event))

    def on_llm_error(self, event: LLMError) -> None:
        self._call(self._t.error(event))

    def on_chain_start(self, event: ChainStart) -> None:
        self._call(self._t.chain_start(event))

    def on_chain_end(self, event: ChainEnd) -> None:
        self._call(self._t.chain_end(event))

    def on_chain_error(self, event: ChainError) -> None:
        self._call(self._t.chain_error(event))

    def on_tool_start(self, event: ToolStart) -> None:
        self._call(self._t.tool_start(event))

    def on_tool_end(self, event: ToolEnd) -> None:
        self._call(self._t.tool_end(event))

    def on_tool_error(self, event: ToolError) -> None:
        self._call(self._t.tool_error(event))


class _StreamingLangChainHandler(LangChainHandler):
    def __init__(self, handler: BaseCallbackHandler) -> None:
        super().__init__(handler)
        self._on_token = handler.on_llm_new_token

    def on_llm_new_token(self, event: NewToken) -> None:
        run = self._runs.get(event.run_id) or self._t.run_of(event)
        self._on_token(
            event.token,
            chunk=run.chunk(event.token, event.chunk),
            run_id=event.run_id,
            parent_run_id=run.parent_run_id,
            tags=run.tags,
        )

    def on_llm_end(self, event: LLMEnd) -> None:
        self._call(self._t.last_chunk(event))
        super().on_llm_end(event)

    def on_block_start(self, event: BlockStart) -> None:
        self._call(self._t.block(event))

    def on_block_delta(self, event: BlockDelta) -> None:
        self._call(self._t.block(event))


class AsyncLangChainHandler(AsyncCallbackHandler):
    """An async langchain-core handler receiving streamllm's runs as LangChain callbacks.

    Build it with :func:`from_langchain`; ``handler`` is the LangChain handler.
    """

    def __init__(self, handler: LCAsyncHandler) -> None:
        self.handler = handler
        self._t = Translator(handler)
        self._runs = self._t.runs

    def __repr__(self) -> str:
        return f"from_langchain({self.handler!r})"

    async def _call(self, call: Call | None) -> None:
        if call is not None:
            name, args, kwargs = call
            await getattr(self.handler, name)(*args, **kwargs)

    async def on_llm_start(self, event: LLMStart) -> None:
        call = self._t.start(event)
        try:
            await self._call(call)
        except NotImplementedError:
            if call is None or (fallback := self._t.fallback(call)) is None:
                raise
            await self._call(fallback)

    async def on_llm_end(self, event: LLMEnd) -> None:
        await self._call(self._t.end(event))

    async def on_llm_error(self, event: LLMError) -> None:
        await self._call(self._t.error(event))

    async def on_chain_start(self, event: ChainStart) -> None:
        await self._call(self._t.chain_start(event))

    async def on_chain_end(self, event: ChainEnd) -> None:
        await self._call(self._t.chain_end(event))

    async def on_chain_error(self, event: ChainError) -> None:
        await self._call(self._t.chain_error(event))

    async def on_tool_start(self, event: ToolStart) -> None:
        await self._call(self._t.tool_start(event))

    async def on_tool_end(self, event: ToolEnd) -> None:
        await self._call(self._t.tool_end(event))

    async def on_tool_error(self, event: ToolError) -> None:
        await self._call(self._t.tool_error(event))


class _AsyncStreamingLangChainHandler(AsyncLangChainHandler):
    def __init__(self, handler: LCAsyncHandler) -> None:
        super().__init__(handler)
        self._on_token = handler.on_llm_new_token

    async def on_llm_new_token(self, event: NewToken) -> None:
        run = self._runs.get(event.run_id) or self._t.run_of(event)
        await self._on_token(
            event.token,
            chunk=run.chunk(event.token, event.chunk),
            run_id=event.run_id,
            parent_run_id=run.parent_run_id,
            tags=run.tags,
        )

    async def on_llm_end(self, event: LLMEnd) -> None:
        await self._call(self._t.last_chunk(event))
        await super().on_llm_end(event)

    async def on_block_start(self, event: BlockStart) -> None:
        await self._call(self._t.block(event))

    async def on_block_delta(self, event: BlockDelta) -> None:
        await self._call(self._t.block(event))


_RAISING: dict[type, type] = {}


def _raising(cls: H) -> H:
    """``cls`` with ``raise_error = True`` (streamllm reads it from the class)."""
    sub = _RAISING.get(cls)
    if sub is None:
        sub = _RAISING[cls] = type(
            cls.__name__, (cls,), {"raise_error": True, "__doc__": cls.__doc__}
        )
    return cast(H, sub)


def _overrides(handler: BaseCallbackHandler, hook: str, base: type) -> bool:
    return getattr(type(handler), hook) is not getattr(base, hook)


def from_langchain(handler: BaseCallbackHandler) -> LangChainHandler | AsyncLangChainHandler:
    """Make a langchain-core callback handler a streamllm handler.

    >>> from langchain_core.callbacks import StdOutCallbackHandler
    >>> from streamllm import FakeListLLM
    >>> from streamllm.integrations.langchain import from_langchain
    >>> handler = from_langchain(StdOutCallbackHandler())
    >>> FakeListLLM(responses=["Hi!"]).invoke("Hello", callbacks=[handler])
    'Hi!'

    An ``AsyncCallbackHandler`` becomes an async streamllm handler (awaited in
    async code, run on the library's loop from sync code). ``raise_error``
    carries over; ``ignore_llm``, ``ignore_chat_model``, ``ignore_chain`` and
    ``ignore_agent`` (tools) are read once, here. ``run_inline`` has nothing to
    decide: streamllm always delivers a run's events in order, without a thread hop.
    """
    if isinstance(handler, type):
        raise ConfigurationError(
            f"from_langchain() needs a handler instance, got the class {handler.__qualname__}: "
            f"write from_langchain({handler.__qualname__}())"
        )
    if not isinstance(handler, BaseCallbackHandler):
        raise ConfigurationError(
            f"from_langchain() needs a langchain-core BaseCallbackHandler, "
            f"got {type(handler).__qualname__}"
        )
    is_async = isinstance(handler, LCAsyncHandler)
    base = LCAsyncHandler if is_async else BaseCallbackHandler
    streams = not handler.ignore_llm and _overrides(handler, "on_llm_new_token", base)
    cls: type[LangChainHandler | AsyncLangChainHandler]
    if is_async:
        cls = _AsyncStreamingLangChainHandler if streams else AsyncLangChainHandler
    else:
        cls = _StreamingLangChainHandler if streams else LangChainHandler
    if handler.raise_error:
        cls = _raising(cls)
    return cls(handler)  # type: ignore[arg-type]
