"""LangChain callbacks as streamllm events: the shared core of the bridge handlers.

:class:`Inbound` takes each LangChain callback's arguments and returns the
:data:`Step` to deliver: the open run and its events (a synthesised start
first when LangChain never sent one, see :mod:`._runs`; a chat run's block
events, see :mod:`._lc_blocks`). The sync and async handlers in
:mod:`._callback_handler` only deliver steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias, final
from uuid import UUID

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk
from langchain_core.outputs import LLMResult as LCResult

from streamllm._frozen import FrozenDict, freeze, freeze_mapping
from streamllm.events import BaseEvent, ToolEnd, ToolStart
from streamllm.integrations._from_langchain import (
    finish_reason,
    jsonable,
    model_name,
    run_name,
    safe_mapping,
    streamllm_messages,
    text_of,
    usage_of,
)
from streamllm.integrations._runs import Kind, OpenRun, Runs
from streamllm.messages import Message

__all__ = ["Inbound", "Step"]

#: The open run and its events to deliver in order (a synthesised start first,
#: when LangChain never sent one; None where no handler wants an event).
Step: TypeAlias = tuple[OpenRun, tuple[BaseEvent | None, ...]]


def _step(opened: OpenRun, start: BaseEvent | None, *events: BaseEvent | None) -> Step:
    return opened, (start, *events) if start is not None else events


def _first_generation(response: LCResult) -> Any:
    gens = response.generations
    return gens[0][0] if gens and gens[0] else None


def _message_of(generation: Any) -> BaseMessage | None:
    return generation.message if isinstance(generation, ChatGeneration) else None


def _inputs(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    data = jsonable(value)
    return data if isinstance(data, dict) else {"input": data}


@final
class Inbound:
    """Turns one bridge handler's LangChain callbacks into streamllm steps."""

    __slots__ = ("runs",)

    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    # Each on_* method takes a LangChain hook's own arguments (and has its name).

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        # LangChain starts one run per prompt; a caller passing several in one
        # call gets them as one prompt, one per line.
        prompt = "\n".join(prompts)
        args = (serialized, run_id, parent_run_id, tags, metadata, kwargs)
        return self._start(*args, prompt=prompt, messages=None, text=prompt)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        converted = tuple(m for batch in messages for m in streamllm_messages(batch))
        text = "\n".join(m.text for m in converted)
        args = (serialized, run_id, parent_run_id, tags, metadata, kwargs)
        return self._start(*args, prompt=None, messages=converted, text=text)

    def _start(
        self,
        serialized: Mapping[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        *,
        prompt: str | None,
        messages: tuple[Message, ...] | None,
        text: str,
    ) -> Step | None:
        params = safe_mapping(kwargs.get("invocation_params"))
        meta = safe_mapping(metadata)
        name = run_name(serialized, kwargs, "llm")
        model = model_name(params, meta, serialized) or name
        opened = self.runs.start(
            "llm", run_id, parent_run_id, name=name, tags=tags, metadata=meta, model=model,
            prompt=text, chat=messages is not None,
        )  # fmt: skip
        if opened is None:
            return None
        return opened, (opened.run.start_event(model, prompt, messages, params),)

    def _find(
        self, kind: Kind, run_id: UUID, parent_run_id: UUID | None, tags: list[str] | None
    ) -> tuple[OpenRun | None, BaseEvent | None]:
        """The open run (or None when it ended) and a synthesised start, if needed."""
        opened, fresh = self.runs.find(kind, run_id, parent_run_id, tags)
        if opened is None or not fresh:
            return opened, None
        run = opened.run
        if kind == "chain":
            return opened, run.chain_start_event(None)
        if kind == "tool":
            return opened, run.build(ToolStart, {"tool_call_id": None, "args": FrozenDict()})
        return opened, run.start_event("unknown", None, None, {})

    def _close(
        self, kind: Kind, run_id: UUID, parent_run_id: UUID | None, tags: list[str] | None
    ) -> tuple[OpenRun, BaseEvent | None] | None:
        """An ending run, now closed (None when it had already ended), and its start if needed."""
        opened, start = self._find(kind, run_id, parent_run_id, tags)
        if opened is None:
            return None
        self.runs.close(run_id)
        return opened, start

    def token(
        self, token: Any, chunk: Any, run_id: UUID, parent_run_id: UUID | None, tags: Any
    ) -> Step | None:
        """``on_llm_new_token``, with its arguments passed positionally (the hot path)."""
        runs = self.runs
        last_id, opened = runs.last
        if last_id is not run_id or opened is None or opened.run.done:
            opened = runs.open.get(run_id)
            if opened is not None:
                runs.last = (run_id, opened)
        start = None
        if opened is None:
            opened, start = self._find("llm", run_id, parent_run_id, tags)
            if opened is None:
                return None
        blocks = opened.blocks
        if blocks is not None:
            if isinstance(chunk, ChatGenerationChunk):
                message, info = chunk.message, chunk.generation_info
            else:  # a chat run's token without its chunk: the token is the content
                content = token if isinstance(token, str | list) else ""
                message, info = AIMessageChunk(content=content), None
            events = blocks.feed(message, opened.texts, jsonable(info) if info else None)
            if start is not None:
                return _step(opened, start, *events)
            return (opened, events) if events else None
        text = token if type(token) is str else text_of(token)
        if not text or not opened.tokens:
            if text:
                opened.texts.append(text)
            # An empty chunk (role-only, usage-only, a tool-call fragment) is not a token.
            return _step(opened, start) if start is not None else None
        opened.texts.append(text)
        info = getattr(chunk, "generation_info", None)
        return _step(opened, start, opened.run.token_event(text, jsonable(info) if info else None))

    def on_llm_end(
        self,
        response: LCResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        found = self._close("llm", run_id, parent_run_id, tags)
        if found is None:
            return None
        opened, start = found
        first = _first_generation(response)
        text = opened.text(first.text if first is not None else "")
        usage, finish = usage_of(response), finish_reason(response)
        message: Any = _message_of(first)
        ends: list[BaseEvent | None] = []
        if opened.blocks is not None and opened.blocks.streamed:
            metadata = jsonable(message.response_metadata) if message is not None else {}
            message_id = message.id if message is not None else None
            ends, message = opened.blocks.finish(usage, finish, metadata, message_id)
        result = opened.result(text, finish, usage, message)
        return _step(opened, start, *ends, opened.run.end_event(result))

    def _error(
        self,
        kind: Kind,
        error: BaseException,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: Any,
        response: Any = None,
    ) -> Step | None:
        opened, start = self._find(kind, run_id, parent_run_id, tags)
        if opened is None:
            return None
        message = None
        if isinstance(response, LCResult):
            message = _message_of(_first_generation(response))
        return _step(opened, start, self.runs.failed(opened, error, message))

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        # LangChain passes what had streamed as ``response`` (the merged chunks).
        response = kwargs.get("response")
        return self._error("llm", error, run_id, parent_run_id, tags, response)

    # -- chains and tools -----------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        args = (serialized, inputs, run_id, parent_run_id, tags, metadata, kwargs)
        return self._chain_start(*args, default_name="chain")

    def _chain_start(
        self,
        serialized: Mapping[str, Any] | None,
        inputs: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        *,
        default_name: str,
    ) -> Step | None:
        name = run_name(serialized, kwargs, default_name)
        meta = safe_mapping(metadata)
        opened = self.runs.start(
            "chain", run_id, parent_run_id, name=name, tags=tags, metadata=meta
        )
        if opened is None:
            return None
        return opened, (opened.run.chain_start_event(_inputs(inputs)),)

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        found = self._close("chain", run_id, parent_run_id, tags)
        if found is None:
            return None
        opened, start = found
        return _step(opened, start, opened.run.chain_end_event(jsonable(outputs)))

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        return self._error("chain", error, run_id, parent_run_id, tags)

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        # A tool run: ``name`` is the tool's (LangChain's serialized tool name).
        name = run_name(serialized, kwargs, "tool")
        if isinstance(serialized, Mapping) and isinstance(serialized.get("name"), str):
            name = serialized["name"]
        meta = safe_mapping(metadata)
        opened = self.runs.start("tool", run_id, parent_run_id, name=name, tags=tags, metadata=meta)
        if opened is None:
            return None
        given = inputs if inputs is not None else {"input": input_str}
        args = freeze_mapping(_inputs(given) or {}, "tool args")
        call_id = kwargs.get("tool_call_id")
        fields = {"tool_call_id": call_id if isinstance(call_id, str) else None, "args": args}
        return opened, (opened.run.build(ToolStart, fields),)

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        found = self._close("tool", run_id, parent_run_id, tags)
        if found is None:
            return None
        opened, start = found
        # LangChain tools called with a ToolCall return a ToolMessage: its content is the output.
        value = output.content if isinstance(output, BaseMessage) else output
        return _step(opened, start, opened.run.build(ToolEnd, {"output": freeze(jsonable(value))}))

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Step | None:
        return self._error("tool", error, run_id, parent_run_id, tags)
