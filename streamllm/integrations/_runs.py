"""The LangChain runs one :class:`StreamLLMCallbackHandler` has seen, as streamllm runs.

:class:`Runs` is the bookkeeping under :class:`~._translate_in.Inbound` (which
turns each LangChain callback into the event to deliver): it opens and closes
runs and keeps streamllm's guarantees whatever LangChain sends:

- each run is a streamllm run of its own (a :class:`RunManager` from a
  :class:`CallbackManager`), so ``seq``, token indexes, the trace id and handler
  failures work exactly as for streamllm's own models;
- a run's events are start, tokens, then exactly one terminal: anything for a
  run after its terminal event is dropped (logged once per run), a second start
  for an open run is dropped;
- a token, end or error for a run whose start never came opens it with a
  synthesised start (model ``"unknown"``, metadata ``streamllm_synthesized_start``)
  so every handler still sees a whole run: an error is information a counter
  or a trace should not lose;
- a run that streamed has the concatenation of its tokens as its text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias, final
from uuid import UUID

from langchain_core.messages import AIMessage, BaseMessage

from streamllm._log import get_logger
from streamllm.callbacks.context import (
    ParentRun,
    current_parent,
    global_entries,
    scoped_entries,
)
from streamllm.callbacks.manager import CallbackManager, reason_for
from streamllm.callbacks.registry import Entry
from streamllm.callbacks.run import Mode, RunManager
from streamllm.chat import AIMessage as StreamLLMMessage
from streamllm.errors import HandlerError
from streamllm.events import BaseEvent, ErrorInfo, ToolError
from streamllm.integrations._from_langchain import estimate, result
from streamllm.integrations._lc_blocks import ChatBlocks
from streamllm.outputs import LLMResult, TokenUsage

__all__ = ["Kind", "OpenRun", "Runs"]

_log = get_logger("streamllm.integrations.langchain")

Kind: TypeAlias = Literal["llm", "chain", "tool"]

#: How many ended runs are remembered, to tell "after its end" from "never started".
_REMEMBER: Final = 10_000

_SYNTHESIZED: Final = "streamllm_synthesized_start"
_NO_METADATA: dict[str, Any] = {}


def _remember(table: OrderedDict[UUID, Any], key: UUID, value: Any) -> None:
    table[key] = value
    if len(table) > _REMEMBER:
        table.popitem(last=False)


@final
class OpenRun:
    """A run between its start and its terminal event."""

    __slots__ = (
        "blocks",
        "chat",
        "inherited",
        "kind",
        "model",
        "prompt",
        "run",
        "texts",
        "tokens",
    )

    def __init__(
        self,
        run: RunManager,
        kind: Kind,
        model: str,
        prompt: str,
        inherited: tuple[Entry, ...] = (),
        chat: bool = False,
    ) -> None:
        self.run = run
        self.chat = chat
        # Handlers of a streamllm ``traced`` block above the LangChain root:
        # every run below it gets them too.
        self.inherited = inherited
        self.kind = kind
        self.model = model
        self.prompt = prompt
        self.texts: list[str] = []
        self.tokens: bool = run.wants_tokens() if kind == "llm" else False
        #: A chat run's content blocks, as they stream.
        self.blocks = ChatBlocks(run, self.tokens) if chat and kind == "llm" else None

    def text(self, fallback: str) -> str:
        """The run's text: its tokens joined if it streamed, else LangChain's."""
        if not self.texts:
            return fallback
        text = "".join(self.texts)
        if fallback and fallback != text:
            _log.warning(
                "langchain result differs from its streamed tokens; keeping the tokens' text",
                run_id=str(self.run.run_id),
            )
        return text

    def result(
        self,
        text: str,
        finish: str | None,
        usage: TokenUsage | None,
        message: BaseMessage | StreamLLMMessage | None = None,
    ) -> LLMResult:
        """The run's result; a chat run's carries its message (assembled from the
        stream, or LangChain's, or for a run that failed before LangChain built
        one, the text so far)."""
        if self.chat and message is None:
            message = AIMessage(content="")
        if usage is None:
            prompt, completion = estimate(self.prompt), estimate(text)
            usage = TokenUsage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                source="estimated",
            )
        return result(text, finish, usage, self.model, self.run.run_id, message)


@final
class Runs:
    """Open and recently ended runs of one bridge handler."""

    __slots__ = ("_ended", "_handlers", "_lock", "_mode", "_sender", "_warned", "last", "open")

    def __init__(self, entries: tuple[Entry, ...], sender: object, mode: Mode) -> None:
        # Resolved entries are accepted wherever handlers are: resolved once, here.
        self._handlers: list[Any] = list(entries)
        self._sender = sender
        self._mode = mode
        self.open: dict[UUID, OpenRun] = {}
        #: The run id the latest token came with (LangChain passes a run's own
        #: UUID object each time) and its run: a token's lookup without hashing
        #: a UUID, whose __hash__ is Python code. One tuple, replaced whole.
        self.last: tuple[UUID | None, OpenRun | None] = (None, None)
        # run id -> its trace id, for runs that ended (children may still come)
        self._ended: OrderedDict[UUID, UUID] = OrderedDict()
        # runs a dropped callback was logged for already: once per run is enough
        self._warned: OrderedDict[UUID, None] = OrderedDict()
        self._lock = threading.Lock()

    def _parent(self, parent_run_id: UUID | None) -> ParentRun | None:
        """The parent a new run is opened under: the LangChain parent run, or for
        a LangChain root, the streamllm ``traced`` block around the call (its
        handlers, tags and metadata are inherited, as for a streamllm model)."""
        if parent_run_id is None:
            return current_parent()
        parent = self.open.get(parent_run_id)
        if parent is not None:
            run = parent.run
            return ParentRun(parent_run_id, run.trace_id, parent.inherited, (), _NO_METADATA)
        # A parent this handler never saw (attached below the root, or ignored):
        # its id is the best trace id there is, shared by all its children.
        trace = self._ended.get(parent_run_id, parent_run_id)
        return ParentRun(parent_run_id, trace, (), (), _NO_METADATA)

    def start(
        self,
        kind: Kind,
        run_id: UUID,
        parent_run_id: UUID | None,
        *,
        name: str,
        tags: list[str] | None,
        metadata: Mapping[str, Any],
        model: str = "",
        prompt: str = "",
        chat: bool = False,
    ) -> OpenRun | None:
        """Open a run; None (logged) when LangChain starts a run twice.

        Its handlers are streamllm's global and scoped handlers, those of a
        ``traced`` block around the LangChain call, then the bridge's own.
        """
        with self._lock:
            if run_id in self.open or run_id in self._ended:
                self._late(run_id, "a second start")
                return None
            parent = self._parent(parent_run_id)
            inherited: tuple[Entry, ...] = parent.entries if parent is not None else ()
            if parent is not None and parent_run_id is None:
                tags = [*parent.tags, *(t for t in tags or () if t not in parent.tags)]
                metadata = {**parent.metadata, **metadata}
            handlers = [*global_entries(), *scoped_entries(), *inherited, *self._handlers]
            manager = CallbackManager(handlers, tags=tags, metadata=metadata, parent=parent)
            run = manager.start_run(name=name, sender=self._sender, run_id=run_id, mode=self._mode)
            opened = OpenRun(run, kind, model or name, prompt, inherited, chat)
            self.open[run_id] = opened
            return opened

    def find(
        self, kind: Kind, run_id: UUID, parent_run_id: UUID | None, tags: list[str] | None
    ) -> tuple[OpenRun | None, bool]:
        """The open run a token or terminal belongs to, and whether its start had
        to be synthesised now. None when the run has ended already (logged once)."""
        opened = self.open.get(run_id)
        if opened is not None:
            return opened, False
        if run_id in self._ended:
            self._late(run_id, "a callback after its end")
            return None, False
        opened = self.start(
            kind,
            run_id,
            parent_run_id,
            name="unknown",
            tags=tags,
            metadata={_SYNTHESIZED: True},
            model="unknown",
        )
        return opened, opened is not None

    def close(self, run_id: UUID) -> None:
        """Forget an open run once its terminal event is built."""
        with self._lock:
            opened = self.open.pop(run_id, None)
            if opened is not None:
                if self.last[1] is opened:
                    self.last = (None, None)
                _remember(self._ended, run_id, opened.run.trace_id)

    def quiet(self, run_id: UUID) -> None:
        """The run was ended by a handler failure: LangChain's own error for it
        is expected and dropped without a warning."""
        _remember(self._warned, run_id, None)

    def _late(self, run_id: UUID, what: str) -> None:
        if run_id in self._warned:
            return
        _remember(self._warned, run_id, None)
        _log.warning(f"langchain sent {what} for run; dropped", run_id=str(run_id))

    # -- the terminal events ---------------------------------------------

    def failed(
        self, opened: OpenRun, exc: BaseException, message: BaseMessage | None = None
    ) -> BaseEvent | None:
        """The terminal error event for a run that failed (LangChain's error, or a
        streamllm handler with ``raise_error``), with what had streamed."""
        self.close(opened.run.run_id)
        run = opened.run
        reason = reason_for(exc)
        if opened.kind == "chain":
            return run.chain_error_event(exc, reason)
        if opened.kind == "tool":
            return run.build(ToolError, {"error": ErrorInfo.of(exc), "reason": reason})
        text = "".join(opened.texts)
        if opened.blocks is not None and opened.blocks.streamed:
            # The blocks as far as they came; no BlockEnd follows a failure.
            return run.error_event(
                exc, reason, opened.result(text, None, None, opened.blocks.partial())
            )
        return run.error_event(exc, reason, opened.result(text, None, None, message))

    def handler_failed(self, opened: OpenRun, exc: HandlerError) -> BaseEvent | None:
        event = self.failed(opened, exc)
        self.quiet(opened.run.run_id)
        return event
