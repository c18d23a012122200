"""The I/O-free core of :func:`from_langchain`: which LangChain hook gets which arguments.

:class:`Translator` turns each streamllm event into the positional and keyword
arguments of the LangChain hook that stands for it, keeping the little per-run
state that needs (is it a chat run, the tags as a list, the message id of its
chunks). The sync and async handler shells in :mod:`._wrapped_handler` only
call the hooks, so every translation is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias, final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk, get_buffer_string
from langchain_core.outputs import ChatGenerationChunk

from streamllm.events import (
    BaseEvent,
    BlockDelta,
    BlockStart,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    ToolEnd,
    ToolError,
    ToolStart,
)
from streamllm.integrations._lc_chunks import block_chunk, chat_chunk, text_chunk
from streamllm.integrations._to_langchain import (
    LC_ID_PREFIX,
    lc_messages,
    lc_result,
    plain,
    serialized,
    to_exception,
)

__all__ = ["Call", "RunState", "Translator"]

#: A LangChain hook's name with its positional and keyword arguments.
Call: TypeAlias = tuple[str, tuple[Any, ...], dict[str, Any]]

_CHAT_START: Final = "on_chat_model_start"


@final
class RunState:
    """What a model run's later events need from its start."""

    __slots__ = ("chat", "message_id", "parent_run_id", "streamed", "tags")

    def __init__(self, chat: bool, run_id: UUID, parent_run_id: UUID | None, tags: list[str]):
        self.chat = chat
        self.streamed = False
        self.message_id = f"{LC_ID_PREFIX}{run_id}"
        self.parent_run_id = parent_run_id
        self.tags = tags

    def chunk(self, token: str, extras: Mapping[str, Any] | None) -> Any:
        """The LangChain ``chunk`` for one streamed token of this run."""
        self.streamed = True
        if self.chat:
            return chat_chunk(token, self.message_id, extras)
        return text_chunk(token, extras)


def _flag(handler: BaseCallbackHandler, name: str) -> bool:
    return bool(getattr(handler, name, False))


@final
class Translator:
    """streamllm events as LangChain hook calls, for one LangChain handler.

    LangChain's ``ignore_*`` flags are read here, once, when the handler is
    wrapped (they are properties that LangChain's own handlers never change).
    """

    __slots__ = ("chain", "chat_model", "handler", "llm", "runs", "tools")

    def __init__(self, handler: BaseCallbackHandler) -> None:
        self.handler = handler
        self.llm = not _flag(handler, "ignore_llm")
        self.chat_model = not _flag(handler, "ignore_chat_model")
        self.chain = not _flag(handler, "ignore_chain")
        # LangChain sends tool callbacks under ``ignore_agent``.
        self.tools = not _flag(handler, "ignore_agent")
        self.runs: dict[UUID, RunState] = {}

    # -- model runs ---------------------------------------------------------

    def start(self, event: LLMStart) -> Call | None:
        """The hook for a run's start, or None when the handler ignores it.

        A chat run (one with ``messages``) goes to ``on_chat_model_start``; a
        handler that raises ``NotImplementedError`` there gets
        :meth:`fallback` instead, as LangChain does.
        """
        chat = event.messages is not None
        self.runs[event.run_id] = RunState(
            chat, event.run_id, event.parent_run_id, list(event.tags)
        )
        params = plain(event.invocation_params)
        kwargs: dict[str, Any] = {
            "run_id": event.run_id,
            "parent_run_id": event.parent_run_id,
            "tags": list(event.tags),
            "metadata": plain(event.metadata),
            "invocation_params": params,
            "options": {"stop": params.get("stop")},
            "name": event.name,
            "batch_size": 1,
        }
        if chat:
            if not self.chat_model:
                return None
            return (
                _CHAT_START,
                (serialized(event.name), [lc_messages(event.messages or ())]),
                kwargs,
            )
        if not self.llm:
            return None
        return "on_llm_start", (serialized(event.name), [event.prompt or ""]), kwargs

    def fallback(self, call: Call) -> Call | None:
        """``on_llm_start`` with the messages as one string, for a handler
        without ``on_chat_model_start`` (LangChain's ``get_buffer_string``)."""
        name, (ser, messages), kwargs = call
        if name != _CHAT_START or not self.llm:
            return None
        return "on_llm_start", (ser, [get_buffer_string(m) for m in messages]), kwargs

    def last_chunk(self, event: LLMEnd) -> Call | None:
        """LangChain's empty closing chunk (``chunk_position="last"``), which its
        chat models stream after the last token of a streamed run."""
        run = self.runs.get(event.run_id)
        if run is None or not (run.chat and run.streamed and self.llm):
            return None
        message = AIMessageChunk(content="", chunk_position="last", id=run.message_id)
        kwargs = {"chunk": ChatGenerationChunk(message=message), "run_id": event.run_id}
        kwargs.update(parent_run_id=run.parent_run_id, tags=run.tags)
        return "on_llm_new_token", ("",), kwargs

    def end(self, event: LLMEnd) -> Call | None:
        run = self.runs.pop(event.run_id, None)
        if not self.llm:
            return None
        chat = run.chat if run is not None else False
        response = lc_result(event.result, chat=chat, run_id=event.run_id)
        return "on_llm_end", (response,), self._ids(event)

    def error(self, event: LLMError) -> Call | None:
        run = self.runs.pop(event.run_id, None)
        if not self.llm:
            return None
        chat = run.chat if run is not None else False
        kwargs = self._ids(event)
        kwargs["response"] = lc_result(event.partial, chat=chat, run_id=event.run_id)
        return "on_llm_error", (to_exception(event.error, event.reason),), kwargs

    def run_of(self, event: BaseEvent) -> RunState:
        """The state of the run ``event`` belongs to (a token of a run whose
        start this handler did not see is taken as a text run's)."""
        run = self.runs.get(event.run_id)
        if run is None:
            run = self.runs[event.run_id] = RunState(
                False, event.run_id, event.parent_run_id, list(event.tags)
            )
        return run

    def block(self, event: BlockStart | BlockDelta) -> Call | None:
        """A reasoning or tool-call block's start or delta as LangChain streams it:
        an ``on_llm_new_token`` whose chunk holds a reasoning content block or a
        tool-call chunk (LangChain has no block callbacks). Text blocks stream as
        ``NewToken`` already; a block's end has no LangChain counterpart."""
        run = self.run_of(event)
        # Only chat models stream blocks: a run started from a prompt string is a
        # chat run too once one comes, and its chunks are chat chunks from here on.
        run.chat = True
        chunk = block_chunk(event, run.message_id)
        if chunk is None:
            return None
        kwargs = {"chunk": chunk, "run_id": event.run_id, "parent_run_id": run.parent_run_id}
        kwargs["tags"] = run.tags
        return "on_llm_new_token", (chunk.message.content,), kwargs

    # -- chains and tools -------------------------------------------------

    @staticmethod
    def _ids(event: BaseEvent) -> dict[str, Any]:
        return {
            "run_id": event.run_id,
            "parent_run_id": event.parent_run_id,
            "tags": list(event.tags),
        }

    def _started(self, event: BaseEvent) -> dict[str, Any]:
        kwargs = self._ids(event)
        kwargs["metadata"] = plain(event.metadata)
        kwargs["name"] = event.name
        return kwargs

    def chain_start(self, event: ChainStart) -> Call | None:
        if not self.chain:
            return None
        inputs = plain(event.inputs) if event.inputs is not None else {}
        return "on_chain_start", (serialized(event.name), inputs), self._started(event)

    def chain_end(self, event: ChainEnd) -> Call | None:
        if not self.chain:
            return None
        return "on_chain_end", (plain(event.outputs),), self._ids(event)

    def chain_error(self, event: ChainError) -> Call | None:
        if not self.chain:
            return None
        return "on_chain_error", (to_exception(event.error, event.reason),), self._ids(event)

    # A tool run is a run of its own: ToolStart (``name`` is the tool's), then
    # ToolEnd or ToolError.

    def tool_start(self, event: ToolStart) -> Call | None:
        if not self.tools:
            return None
        inputs = plain(event.args)
        kwargs = self._started(event)
        kwargs["inputs"] = inputs
        kwargs["tool_call_id"] = event.tool_call_id
        # LangChain serialises a tool as its name and description; events carry the name.
        tool = {"name": event.name, "description": ""}
        return "on_tool_start", (tool, str(inputs)), kwargs

    def tool_end(self, event: ToolEnd) -> Call | None:
        if not self.tools:
            return None
        kwargs = self._ids(event)
        kwargs["name"] = event.name
        return "on_tool_end", (plain(event.output),), kwargs

    def tool_error(self, event: ToolError) -> Call | None:
        if not self.tools:
            return None
        kwargs = self._ids(event)
        kwargs["name"] = event.name
        return "on_tool_error", (to_exception(event.error, event.reason),), kwargs
