"""The LangChain chunks ``on_llm_new_token`` receives, built on the hot path.

Validating an ``AIMessageChunk`` and its ``ChatGenerationChunk`` costs about
6 µs per token (``model_construct`` is far slower still), twice the bridge's
whole budget. ``_fast_*`` instead copy a validated template's state: the same
field values, fresh empty containers (a handler may mutate its chunk), a
mutable ``fields_set`` (pydantic adds to it on assignment). At import
:func:`_fast_works` checks that a copy equals a validated instance and that no
other field holds a container; when a langchain-core or pydantic release breaks
that, chunks are validated as usual, only slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from pydantic import BaseModel

from streamllm.events import BlockDelta, BlockStart
from streamllm.integrations._to_langchain import plain

__all__ = ["block_chunk", "chat_chunk", "text_chunk"]

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__

#: The message fields holding an (empty) container, fresh in every chunk.
_MESSAGE_CONTAINERS = (
    "additional_kwargs",
    "response_metadata",
    "tool_calls",
    "invalid_tool_calls",
    "tool_call_chunks",
)


def _template(model: BaseModel) -> tuple[dict[str, Any], frozenset[str], bool]:
    return (
        dict(model.__dict__),
        frozenset(model.__pydantic_fields_set__),
        bool(model.__pydantic_extra__ is not None),
    )


_TEXT, _TEXT_SET, _ = _template(GenerationChunk(text=""))
_MESSAGE, _MESSAGE_SET, _MESSAGE_EXTRA = _template(AIMessageChunk(content="", id=""))
_CHAT, _CHAT_SET, _ = _template(ChatGenerationChunk(message=AIMessageChunk(content="")))


def _instance(cls: type[M], data: dict[str, Any], fields: frozenset[str], extra: bool) -> M:
    obj: M = _new(cls)
    _set_dict(obj, data)
    _set_fields(obj, set(fields))  # pydantic adds to it when a field is assigned
    _set_extra(obj, {} if extra else None)
    _set_private(obj, None)
    return obj


def _fast_text(token: str, info: dict[str, Any] | None) -> GenerationChunk:
    data = _TEXT.copy()
    data["text"] = token
    data["generation_info"] = info
    return _instance(GenerationChunk, data, _TEXT_SET, False)


def _fast_chat(token: str, message_id: str, info: dict[str, Any] | None) -> ChatGenerationChunk:
    # Written out rather than looped: this runs once per token.
    data = _MESSAGE.copy()
    data["content"] = token
    data["id"] = message_id
    data["additional_kwargs"] = {}
    data["response_metadata"] = {}
    data["tool_calls"] = []
    data["invalid_tool_calls"] = []
    data["tool_call_chunks"] = []
    message = _instance(AIMessageChunk, data, _MESSAGE_SET, _MESSAGE_EXTRA)
    data = _CHAT.copy()
    data["text"] = token
    data["message"] = message
    data["generation_info"] = info
    return _instance(ChatGenerationChunk, data, _CHAT_SET, False)


def _fast_works() -> bool:
    """Whether the copies equal validated chunks, and no other field holds a
    container that copies would share."""
    containers = {k for k, v in _MESSAGE.items() if isinstance(v, list | dict)}
    if containers != set(_MESSAGE_CONTAINERS):
        return False
    try:
        text = _fast_text("t", {"a": 1}) == GenerationChunk(text="t", generation_info={"a": 1})
        chat = _fast_chat("t", "i", None) == ChatGenerationChunk(
            message=AIMessageChunk(content="t", id="i")
        )
    except Exception:
        return False
    return bool(text and chat)


_FAST = _fast_works()


def text_chunk(token: str, extras: Mapping[str, Any] | None) -> GenerationChunk:
    """The ``chunk`` of a text run's ``on_llm_new_token``."""
    info = plain(extras) if extras else None
    if _FAST:
        return _fast_text(token, info)
    return GenerationChunk(text=token, generation_info=info)


def chat_chunk(
    token: str, message_id: str, extras: Mapping[str, Any] | None
) -> ChatGenerationChunk:
    """The ``chunk`` of a chat run's ``on_llm_new_token``."""
    info = plain(extras) if extras else None
    if _FAST:
        return _fast_chat(token, message_id, info)
    return ChatGenerationChunk(
        message=AIMessageChunk(content=token, id=message_id), generation_info=info
    )


def block_chunk(event: BlockStart | BlockDelta, message_id: str) -> ChatGenerationChunk | None:
    """The chunk LangChain would stream for a ``BlockStart`` or ``BlockDelta``.

    A tool call's start carries its id and name with empty arguments (as
    OpenAI's first tool-call delta does), each delta a fragment of the raw
    arguments, by block index; reasoning deltas are ``reasoning`` content
    blocks. Text deltas are ``NewToken``s, and nothing else has a chunk.
    """
    kind, index = event.kind, event.block
    delta = event.delta if isinstance(event, BlockDelta) else None
    if kind == "tool_call":
        if isinstance(event, BlockStart):
            call = {"name": event.tool_name, "id": event.id, "args": "", "index": index}
        else:
            call = {"name": None, "id": None, "args": delta, "index": index}
        message = AIMessageChunk(content="", id=message_id, tool_call_chunks=[call])
    elif kind == "reasoning" and delta:
        block = {"type": "reasoning", "reasoning": delta, "index": index}
        message = AIMessageChunk(content=[block], id=message_id)
    else:
        return None
    return ChatGenerationChunk(message=message)
