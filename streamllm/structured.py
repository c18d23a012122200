"""Structured output: a chat model's answer as a validated pydantic object.

``with_structured_output(model, Schema)`` (also ``model.with_structured_output(Schema)``)
offers the model one tool whose arguments are ``Schema`` and forces it
(``bind_tools([Schema], tool_choice=Schema.__name__)``); the arguments of that
call are the answer::

    >>> from pydantic import BaseModel
    >>> from streamllm.models.fake_chat import FakeChatModel
    >>> class Weather(BaseModel):
    ...     city: str
    ...     celsius: float
    >>> model = FakeChatModel(responses=[
    ...     {"tool_calls": [{"name": "Weather", "args": {"city": "Paris", "celsius": 22}}]}])
    >>> with_structured_output(model, Weather).invoke("Weather in Paris?")
    Weather(city='Paris', celsius=22.0)
    >>> [p for p in with_structured_output(model, Weather).stream("Weather in Paris?")]
    [{}, {'city': 'Paris'}, {'city': 'Paris', 'celsius': 22}]

``stream``/``astream`` yield the object as its arguments arrive: each item is a
dict (a best-effort parse of the JSON so far) that only grows, keys are added
and strings get longer, and nothing shown changes. When the stream ends, the
whole answer is validated: the last dict yielded is always a valid ``Schema``.
An answer that does not validate, a call with arguments that are not JSON, or
no call at all is a :class:`StructuredOutputError` whose ``raw`` is the text
the model wrote. A model that answers in text instead of calling the tool (a
server ignoring ``tool_choice``) is read as JSON from that text, best effort.

This module knows chat models only by what it calls (``bind_tools``,
``invoke``, ``stream`` and their async twins), so ``models/chat.py`` can
delegate to it without an import circle.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from streamllm.chat.blocks import InvalidToolCall, ToolCall
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.message import AIMessage
from streamllm.chat.partial_json import PartialJSON
from streamllm.chat.tools_schema import to_tool_spec
from streamllm.errors import ConfigurationError, StructuredOutputError

__all__ = ["StructuredOutput", "with_structured_output"]

M = TypeVar("M", bound=BaseModel)

# A JSON object inside a Markdown code fence, as models write it in text.
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


class _ChatModel(Protocol):
    """What structured output needs of a chat model."""

    def bind_tools(self, tools: Iterable[Any], tool_choice: Any = None) -> Any: ...


class StructuredOutput(Generic[M]):
    """A chat model whose answer is a validated ``schema`` instance (see the
    module docstring). ``invoke``/``ainvoke`` take what the model takes (input,
    ``config``, ``callbacks=``, ``tags=``...) and return the instance."""

    __slots__ = ("_bound", "name", "schema")

    def __init__(self, model: _ChatModel, schema: type[M]) -> None:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ConfigurationError(
                f"with_structured_output takes a pydantic model class, not {schema!r}"
            )
        spec = to_tool_spec(schema)  # a name no provider takes: ConfigurationError here
        if not spec.parameters.get("properties"):
            raise ConfigurationError(
                f"the schema {schema.__name__!r} has no properties: a structured answer "
                "needs at least one field"
            )
        bind = getattr(model, "bind_tools", None)
        if not callable(bind):
            raise ConfigurationError(
                f"{type(model).__name__} is not a chat model: structured output needs bind_tools"
            )
        self.schema = schema
        self.name = spec.name
        self._bound = bind([schema], tool_choice=spec.name)

    def __repr__(self) -> str:
        return f"StructuredOutput({type(self._bound).__name__}, {self.schema.__name__})"

    # -- reading the answer ----------------------------------------------------

    def _raw(self, message: AIMessage) -> tuple[str, Any]:
        """The answer's raw text and its JSON value (None when it has none)."""
        for block in message.content_blocks:
            if isinstance(block, ToolCall) and block.name == self.name:
                return json.dumps(dict(block.args), ensure_ascii=False), block.args
            if isinstance(block, InvalidToolCall) and block.name in (self.name, None):
                return block.args_text, None
        text = message.text
        fenced = _FENCE.match(text)
        try:
            return text, json.loads(fenced[1] if fenced else text)
        except ValueError:
            return text, None

    def _parse(self, message: AIMessage, raw_args: str | None = None) -> M:
        raw, value = self._raw(message)
        called = raw != message.text or raw_args is not None
        if raw_args is not None:  # streamed: exactly the fragments the model sent
            raw = raw_args
        if not isinstance(value, dict):
            why = (
                "sent arguments that are not a JSON object"
                if called
                else "called no tool and wrote no JSON object"
            )
            raise StructuredOutputError(f"the model {why} for {self.schema.__name__!r}", raw=raw)
        try:
            return self.schema.model_validate(value)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise StructuredOutputError(
                f"the answer does not validate against {self.schema.__name__!r}: {details}",
                raw=raw,
            ) from exc

    # -- the Runnable methods ----------------------------------------------------

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> M:
        """The model's answer as a validated ``schema`` instance."""
        return self._parse(self._bound.invoke(input, config, **kwargs))

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> M:
        """Async :meth:`invoke`."""
        return self._parse(await self._bound.ainvoke(input, config, **kwargs))

    def stream(
        self, input: Any, config: Any = None, **kwargs: Any
    ) -> Generator[dict[str, Any], None, None]:
        """The answer as it arrives: dicts that only grow; the last one validates."""
        partial = _Partial(self)
        # Closed with this generator: a consumer that stops early ends the model's run now.
        with contextlib.closing(self._bound.stream(input, config, **kwargs)) as chunks:
            for chunk in chunks:
                if (out := partial.feed(chunk)) is not None:
                    yield out
        if (out := partial.finish()) is not None:
            yield out

    async def astream(
        self, input: Any, config: Any = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Async :meth:`stream`."""
        partial = _Partial(self)
        async with contextlib.aclosing(self._bound.astream(input, config, **kwargs)) as chunks:
            async for chunk in chunks:
                if (out := partial.feed(chunk)) is not None:
                    yield out
        if (out := partial.finish()) is not None:
            yield out


class _Partial:
    """The I/O-free core of ``stream``/``astream``: chunks in, growing dicts out."""

    __slots__ = ("_args", "_block", "_last", "_parser", "_structured", "_sum")

    def __init__(self, structured: StructuredOutput[Any]) -> None:
        self._structured = structured
        self._parser = PartialJSON()
        self._block: int | None = None  # the block of the forced call, once seen
        self._args: list[str] = []
        self._last: dict[str, Any] | None = None
        self._sum: AIMessageChunk | None = None

    def feed(self, chunk: AIMessageChunk) -> dict[str, Any] | None:
        """The object so far, when this chunk changed it."""
        self._sum = chunk if self._sum is None else self._sum + chunk
        current = None
        for piece in chunk.tool_call_chunks:
            if self._block is None and piece.name == self._structured.name:
                self._block = piece.index
            if piece.index == self._block and piece.args_text:
                self._args.append(piece.args_text)
                current = self._parser.feed(piece.args_text)
        return self._changed(current)

    def _changed(self, current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or current == self._last:
            return None
        # A copy: the consumer may change what it got without changing what comes next.
        self._last = copy.deepcopy(current)
        return copy.deepcopy(current)

    def finish(self) -> dict[str, Any] | None:
        """Validate the whole answer (:class:`StructuredOutputError`); the final
        dict when it differs from the last one yielded."""
        if self._sum is None:
            raise StructuredOutputError("the model sent nothing", raw="")
        message = self._sum.to_message()
        raw = "".join(self._args) if self._block is not None else None
        self._structured._parse(message, raw)
        # The answer as the model wrote it (not re-dumped from the instance,
        # which could coerce a value already shown): the dicts only grow.
        value = self._structured._raw(message)[1]
        return self._changed(dict(value))


def with_structured_output(model: _ChatModel, schema: type[M]) -> StructuredOutput[M]:
    """``model`` answering with validated ``schema`` instances (see the module docstring).

    A schema that is not a pydantic model class, or has no properties, is a
    :class:`ConfigurationError`, here, before any model call.
    """
    return StructuredOutput(model, schema)
