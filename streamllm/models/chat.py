"""BaseChatModel: models that answer with a message of content blocks (DESIGN.md section 11).

``invoke`` returns an :class:`AIMessage`; ``stream``/``astream`` yield
:class:`AIMessageChunk`\\ s that add up (``+``, ``sum``) to that message;
``batch``/``generate`` and the event streams are as for text models. Every
run fires, per content block, ``BlockStart``, its deltas (``NewToken`` with
``block=i`` for text, ``BlockDelta`` for reasoning and tool-call arguments)
and ``BlockEnd`` with the finished block, all before ``LLMEnd``.

The provider contract: a chat provider subclasses :class:`BaseChatModel` and
implements ``_stream(request)`` (and ``_astream``) yielding
:class:`~streamllm.chat.deltas.ChatDelta`\\ s, e.g. from the wire parsers of
:mod:`streamllm.chat` (``openai_deltas(frame)``...), or ``_generate(request)``
returning a whole :class:`AIMessage`. It reads the conversation from
``request.messages`` (the one :class:`~streamllm.messages.Message` class) and
the tools from ``request.tools`` / ``request.tool_choice``. It never touches
events, blocks or chunks: the base class assembles the deltas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, Unpack

from pydantic import BaseModel

from streamllm.chat.assembler import Assembler
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.script import deltas_for
from streamllm.chat.tools_schema import ToolChoice, ToolSpec, normalize_tool_choice, to_tool_specs
from streamllm.errors import ConfigurationError
from streamllm.messages import Message
from streamllm.models._batch_methods import BatchMethods
from streamllm.models._chat_run import CHAT
from streamllm.models._event_methods import EventMethods
from streamllm.models._model import BaseLanguageModel
from streamllm.models._run import Call
from streamllm.models._stop import Stop
from streamllm.models.config import CallOptions, LLMInput, RunnableConfig
from streamllm.request import Request

if TYPE_CHECKING:
    from streamllm.structured import StructuredOutput

__all__ = ["BaseChatModel"]

M = TypeVar("M", bound=BaseModel)


def _pull(iterator: Iterator[ChatDelta], done: Any) -> Any:
    return next(iterator, done)


class BaseChatModel(BaseLanguageModel, BatchMethods[AIMessage], EventMethods):
    """Base class of every chat model.

    >>> from streamllm.models.fake_chat import FakeChatModel
    >>> model = FakeChatModel(responses=["Hello there"])
    >>> model.invoke("hi").text
    'Hello there'
    >>> sum(model.stream("hi")).text
    'Hello there'
    """

    _driver = CHAT
    hidden_params: ClassVar[frozenset[str]] = frozenset({"tools", "tool_choice"})
    #: Whether the provider can be offered tools; ``bind_tools`` refuses otherwise.
    supports_tools: ClassVar[bool] = True

    #: The tools offered on every call (set by :meth:`bind_tools`).
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None

    # -- what providers override ----------------------------------------

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        """Yield deltas. The default streams ``_generate``'s message."""
        yield from deltas_for(self._generate(request))

    async def _astream(self, request: Request) -> AsyncIterator[ChatDelta]:
        """Async deltas. The default runs the sync ``_stream`` in a worker thread
        (or awaits ``_agenerate`` for a provider without ``_stream``)."""
        if type(self)._stream is BaseChatModel._stream:
            for delta in deltas_for(await self._agenerate(request)):
                yield delta
            return
        iterator = self._stream(request)
        done = object()
        try:
            while True:
                delta = await asyncio.to_thread(_pull, iterator, done)
                if delta is done:
                    return
                yield delta
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    def _generate(self, request: Request) -> AIMessage:
        """The whole message at once. The default assembles ``_stream``."""
        if type(self)._stream is BaseChatModel._stream:
            raise TypeError(f"{type(self).__name__} implements neither _stream nor _generate")
        asm = Assembler()
        for delta in self._stream(request):
            asm.feed(delta)
        return asm.finish()[1]

    async def _agenerate(self, request: Request) -> AIMessage:
        """Async whole message. The default runs ``_generate`` in a worker thread."""
        return await asyncio.to_thread(self._generate, request)

    def _check_tools(self, tools: tuple[ToolSpec, ...], tool_choice: ToolChoice | None) -> None:
        """Refuse, with a :class:`ConfigurationError`, tools or a choice this
        provider cannot send (e.g. Ollama cannot force a tool). Called at bind time."""

    # -- tools --------------------------------------------------------------

    def bind_tools(self, tools: Iterable[Any], tool_choice: Any = None) -> Self:
        """A copy of this model that offers ``tools`` on every call.

        Tools are pydantic model classes, typed functions (schema from the
        signature and docstring), ``Tool`` objects, or JSON-schema dicts
        (OpenAI's ``{"type": "function", ...}`` or ``{"name", "parameters"}``).
        ``tool_choice``: None (the provider's default), ``"auto"``, ``"none"``,
        ``"required"`` (or ``"any"``), or a tool's name. A tool that cannot
        become a schema, an unknown choice, or a provider that cannot take
        tools is a :class:`ConfigurationError`, here, before any request.
        """
        if not self.supports_tools:
            raise ConfigurationError(f"{type(self).__name__} cannot be offered tools")
        specs = to_tool_specs(tools)
        choice = normalize_tool_choice(tool_choice, specs)
        self._check_tools(specs, choice)
        return self._copy_with(tools=specs, tool_choice=choice)  # type: ignore[no-any-return]

    def with_structured_output(self, schema: type[M]) -> StructuredOutput[M]:
        """This model answering with validated ``schema`` (pydantic model) instances,
        through a forced tool call; ``stream`` yields the partial object as dicts
        that only grow. See :mod:`streamllm.structured`."""
        from streamllm.structured import StructuredOutput

        return StructuredOutput(self, schema)

    # -- preparing a call -------------------------------------------------

    def _request(self, input: LLMInput) -> Request:
        # A chat run always carries messages (a str is one user message), so a
        # handler tells a chat run by LLMStart.messages, as LangChain's do.
        if isinstance(input, str):
            input = [Message(role="user", content=input)]
        request = super()._request(input)
        request.tools = self.tools
        request.tool_choice = self.tool_choice
        return request

    def _use_stream(self) -> bool:
        return self.streaming or type(self)._generate is BaseChatModel._generate

    def _call(self, input: LLMInput, stream: bool) -> Call[ChatDelta]:
        if stream:
            opener, aopener = self._stream, self._astream
        else:
            opener, aopener = self._generate_once, self._agenerate_once
        return Call(self.model_name, self._request(input), opener, aopener, self.estimate_usage)

    def _generate_once(self, request: Request) -> Iterator[ChatDelta]:
        return iter(deltas_for(self._generate(request)))

    async def _agenerate_once(self, request: Request) -> AsyncIterator[ChatDelta]:
        for delta in deltas_for(await self._agenerate(request)):
            yield delta

    # -- the Runnable methods ---------------------------------------------

    def invoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> AIMessage:
        """Run the model on one input and return its message.

        With ``streaming=True`` (or a provider that only streams), every block
        fires its events on the way.
        """
        return self._invoke(input, config, kwargs, stop)  # type: ignore[no-any-return]

    async def ainvoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> AIMessage:
        """Async :meth:`invoke`."""
        return await self._ainvoke(input, config, kwargs, stop)  # type: ignore[no-any-return]

    def stream(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Generator[AIMessageChunk, None, None]:
        """Yield the message chunk by chunk; ``sum(chunks)`` is the message.

        A chunk may hold no text (a block's start or end, a tool call's
        arguments, the usage and finish reason on the last chunk): it is still
        yielded, so the sum is the whole message. Exactly one terminal event
        per run, also when the iterator is closed early or garbage collected.
        """
        return self._stream_run(input, config, kwargs, (), stop)

    def astream(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> AsyncGenerator[AIMessageChunk, None]:
        """Async :meth:`stream`. Use ``contextlib.aclosing`` to end an abandoned
        run at once rather than when the loop finalises the generator."""
        return self._astream_run(input, config, kwargs, (), stop)
