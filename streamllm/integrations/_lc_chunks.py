"""The LangChain chunks ``on_llm_new_token`` receives, built on the hot path.

Validating an ``AIMessageChunk`` and its ``ChatGenerationChunk`` costs about
6 µs per token (``model_construct`` is far slower still), twice the bridge's
whole budget. :class:`_Clone` instead copies a validated template: the same
field values, fresh empty containers (a handler may mutate its chunk), a
mutable ``fields_set`` (pydantic adds to it on assignment). At import it checks
that a clone equals a validated instance; when a langchain-core or pydantic
release breaks that, chunks are validated as usual, only slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, final

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from pydantic import BaseModel

__all__ = ["block_chunk", "chat_chunk", "text_chunk"]

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


@final
class _Clone(Generic[M]):
    """Copies of one validated instance with some fields replaced."""

    __slots__ = ("_cls", "_data", "_extra", "_fields", "_fresh")

    def __init__(self, template: M) -> None:
        self._cls = type(template)
        self._data = dict(template.__dict__)
        self._fields = frozenset(template.__pydantic_fields_set__)
        self._extra = template.__pydantic_extra__ is not None
        # Containers that would otherwise be shared by every chunk.
        self._fresh = tuple(
            (k, type(v)) for k, v in self._data.items() if isinstance(v, list | dict) and not v
        )

    def __call__(self, fields: dict[str, Any]) -> M:
        data = {**self._data, **fields}
        for key, factory in self._fresh:
            data[key] = factory()
        obj: M = _new(self._cls)
        _set_dict(obj, data)
        _set_fields(obj, set(self._fields))
        _set_extra(obj, {} if self._extra else None)
        _set_private(obj, None)
        return obj


def _works(clone: _Clone[Any], fields: dict[str, Any], validated: BaseModel) -> bool:
    try:
        return bool(clone(fields) == validated)
    except Exception:
        return False


_TEXT = _Clone(GenerationChunk(text="probe"))
_MESSAGE = _Clone(AIMessageChunk(content="probe", id="probe"))
_CHAT = _Clone(ChatGenerationChunk(message=AIMessageChunk(content="probe", id="probe")))
_FAST = _works(_TEXT, {"text": "t"}, GenerationChunk(text="t")) and _works(
    _CHAT,
    {"text": "t", "message": _MESSAGE({"content": "t", "id": "i"})},
    ChatGenerationChunk(message=AIMessageChunk(content="t", id="i")),
)


def text_chunk(token: str, extras: Mapping[str, Any] | None) -> GenerationChunk:
    """The ``chunk`` of a text run's ``on_llm_new_token``."""
    info = dict(extras) if extras else None
    if _FAST:
        return _TEXT({"text": token, "generation_info": info})
    return GenerationChunk(text=token, generation_info=info)


def chat_chunk(
    token: str, message_id: str, extras: Mapping[str, Any] | None
) -> ChatGenerationChunk:
    """The ``chunk`` of a chat run's ``on_llm_new_token``."""
    info = dict(extras) if extras else None
    if _FAST:
        message = _MESSAGE({"content": token, "id": message_id})
        return _CHAT({"text": token, "message": message, "generation_info": info})
    return ChatGenerationChunk(
        message=AIMessageChunk(content=token, id=message_id), generation_info=info
    )


def block_chunk(event: Any, message_id: str) -> ChatGenerationChunk | None:
    """The chunk LangChain would stream for a ``BlockStart`` or ``BlockDelta``.

    A tool call's start carries its id and name with empty arguments (as
    OpenAI's first tool-call delta does), each delta a fragment of the raw
    arguments, by block index; reasoning deltas are ``reasoning`` content
    blocks. Text deltas are ``NewToken``s, and nothing else has a chunk.
    """
    kind, index = getattr(event, "kind", None), getattr(event, "block", 0)
    delta = getattr(event, "delta", None)
    if kind == "tool_call":
        if delta is None:  # the block's start
            name = getattr(event, "tool_name", None) or event.name
            call = {"name": name, "id": getattr(event, "id", None), "args": "", "index": index}
        else:
            call = {"name": None, "id": None, "args": delta, "index": index}
        message = AIMessageChunk(content="", id=message_id, tool_call_chunks=[call])
    elif kind == "reasoning" and delta:
        block = {"type": "reasoning", "reasoning": delta, "index": index}
        message = AIMessageChunk(content=[block], id=message_id)
    else:
        return None
    return ChatGenerationChunk(message=message)
