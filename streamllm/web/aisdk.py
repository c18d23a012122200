"""The Vercel AI SDK UI message stream protocol (``x-vercel-ai-ui-message-stream: v1``).

``POST /api/chat`` answers in the parts a ``useChat`` front end reads: ``start``,
``text-start``/``text-delta``/``text-end``, ``reasoning-*``, ``tool-input-*``,
``finish``, then ``data: [DONE]``. :class:`UIMessageParts` turns one run's
events into those parts; it keeps which blocks are open, because a text model
streams tokens without block boundaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, final

from streamllm.errors import ConfigurationError
from streamllm.events import Event

__all__ = ["DONE", "UI_STREAM_HEADERS", "UIMessageParts", "messages_from_ui"]

DONE: Final = b"data: [DONE]\n\n"
UI_STREAM_HEADERS: Final = [(b"x-vercel-ai-ui-message-stream", b"v1")]

_FINISH: Final = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "content_filter": "content-filter",
    "other": "other",
}
_ROLES: Final = frozenset({"system", "user", "assistant"})

Part = dict[str, Any]


@final
class UIMessageParts:
    """Translates the events of one root run into UI message stream parts."""

    __slots__ = ("_open", "_run_id", "_seen", "_text")

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        # Open blocks: position -> (kind, part id).
        self._open: dict[int, tuple[str, str]] = {}
        # Where tokens without a block number go: the last text block opened, or
        # a new one after every block seen.
        self._text: int | None = None
        self._seen = -1

    def parts(self, event: Event) -> list[Part]:
        """The parts for one event (none for events of nested runs)."""
        e: Any = event
        if str(e.run_id) != self._run_id:
            return []
        kind = e.type
        if kind == "llm_start":
            return [{"type": "start", "messageId": self._run_id}, {"type": "start-step"}]
        if kind == "new_token":
            block = getattr(e, "block", None)
            if block is None:
                block = self._text if self._text is not None else self._seen + 1
            return [*self._start(block, "text"), _delta("text", self._id(block), e.token)]
        if kind == "block_start":
            # The tool's name: BlockStart's own field (``name`` is the run's, on every event).
            return self._start(e.block, e.kind, e.id, getattr(e, "tool_name", None))
        if kind == "block_delta":
            return [*self._start(e.block, e.kind), _delta(e.kind, self._id(e.block), e.delta)]
        if kind == "block_end":
            return self._end(e.block, _mapping(e.content))
        if kind == "llm_end":
            result = e.result
            return [*self._close_all(), {"type": "finish-step"}, self._finish(result)]
        if kind == "llm_error":
            if e.reason == "cancelled":
                return [*self._close_all(), {"type": "abort", "reason": "cancelled"}]
            return [*self._close_all(), {"type": "error", "errorText": e.error.message}]
        return []

    def _id(self, block: int) -> str:
        opened = self._open.get(block)
        return opened[1] if opened else f"block-{block}"

    def _start(
        self, block: int, kind: str, call_id: str | None = None, name: str | None = None
    ) -> list[Part]:
        if block in self._open:
            return []
        self._seen = max(self._seen, block)
        if kind == "tool_call":
            part_id = call_id or f"call-{self._run_id}-{block}"
            self._open[block] = (kind, part_id)
            return [{"type": "tool-input-start", "toolCallId": part_id, "toolName": name or ""}]
        part_id = f"{kind}-{block}"
        self._open[block] = (kind, part_id)
        if kind == "text":
            self._text = block
        return [{"type": f"{kind}-start", "id": part_id}]

    def _end(self, block: int, content: Mapping[str, Any]) -> list[Part]:
        kind, part_id = self._open.pop(block, ("", self._id(block)))
        ctype = content.get("type")
        if ctype == "tool_call":
            return [
                {
                    "type": "tool-input-available",
                    "toolCallId": content.get("id") or part_id,
                    "toolName": content.get("name", ""),
                    "input": content.get("args", {}),
                }
            ]
        if ctype == "invalid_tool_call":
            return [
                {
                    "type": "tool-input-error",
                    "toolCallId": content.get("id") or part_id,
                    "toolName": content.get("name") or "",
                    "input": content.get("args_text", ""),
                    "errorText": content.get("error") or "invalid tool arguments",
                }
            ]
        if kind in ("text", "reasoning"):
            return [{"type": f"{kind}-end", "id": part_id}]
        return []

    def _close_all(self) -> list[Part]:
        # A text model never sends BlockEnd; close what is open, in order.
        parts = [
            {"type": f"{kind}-end", "id": part_id}
            for kind, part_id in self._open.values()
            if kind in ("text", "reasoning")
        ]
        self._open.clear()
        return parts

    def _finish(self, result: Any) -> Part:
        part: Part = {"type": "finish"}
        reason = _FINISH.get(getattr(result, "finish_reason", None) or "")
        if reason:
            part["finishReason"] = reason
        usage = getattr(result, "usage", None)
        if usage is not None:
            part["messageMetadata"] = {"usage": usage.model_dump(mode="json")}
        return part


def _delta(kind: str, part_id: str, text: str) -> Part:
    if kind == "tool_call":
        return {"type": "tool-input-delta", "toolCallId": part_id, "inputTextDelta": text}
    return {"type": f"{kind}-delta", "id": part_id, "delta": text}


def _mapping(content: Any) -> Mapping[str, Any]:
    if isinstance(content, Mapping):
        return content
    dump = getattr(content, "model_dump", None)
    return dump(mode="json") if dump is not None else {}


def messages_from_ui(messages: object) -> list[dict[str, str]]:
    """``useChat``'s ``UIMessage`` list (``parts``, or a plain ``content``) as chat messages.

    Only text parts carry over; a message left with no text is skipped.
    """
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes) or not messages:
        raise ConfigurationError("'messages' must be a non-empty list of UI messages")
    out: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
            raise ConfigurationError(f"message {i} needs a role of 'system', 'user' or 'assistant'")
        text = _text_of(message)
        if text:
            out.append({"role": message["role"], "content": text})
    if not out:
        raise ConfigurationError("no message holds any text")
    return out


def _text_of(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = message.get("parts")
    if not isinstance(parts, Sequence):
        return ""
    return "".join(
        p["text"]
        for p in parts
        if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )
