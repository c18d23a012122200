"""LoggingHandler: every run's lifecycle as structured log records.

Records go through structlog to the standard library logger
``streamllm.handlers.log`` (the application's logging configuration decides
where they end up; the library never configures structlog and never prints),
or through the user's own structlog logger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

from streamllm._log import get_logger
from streamllm.callbacks.base import CallbackHandler
from streamllm.events import (
    BaseEvent,
    BlockEnd,
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
from streamllm.handlers._redact import redact, redact_text
from streamllm.outputs import LLMResult

__all__ = ["LoggingHandler"]


def _result_fields(result: LLMResult, capture_content: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"finish_reason": result.finish_reason, "retries": result.retries}
    usage = result.usage
    if usage is not None:
        fields.update(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            usage_source=usage.source,
        )
    if capture_content:
        fields["text"] = redact_text(result.text)
    else:
        fields["text_chars"] = len(result.text)
    return fields


class LoggingHandler(CallbackHandler):
    """Logs each run: start, end and error at info/error level, tokens at debug.

    One logger is bound per run, once, with ``run_id``, ``trace_id``,
    ``parent_run_id``, ``run_name``, ``model`` and ``tags``, so every record of
    the run carries them. Secrets in metadata, parameters and error messages are
    replaced by ``[REDACTED]``. Prompts, messages, tokens and output text are
    left out (only their sizes are logged) unless ``capture_content=True``.

    ``logger`` is your own structlog logger (anything with ``bind()``); by
    default records go to the standard library logger ``streamllm.handlers.log``.

    >>> import logging
    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import LoggingHandler
    >>> logging.basicConfig(level=logging.INFO)        # doctest: +SKIP
    >>> FakeListLLM(responses=["Hi"]).invoke("Hello", callbacks=[LoggingHandler()])
    'Hi'
    """

    def __init__(self, logger: Any = None, *, capture_content: bool = False) -> None:
        self._logger: Any = logger if logger is not None else get_logger(__name__)
        # Our own logger drops debug records in its first processor anyway;
        # asking the stdlib logger first saves building one per token.
        self._debug_enabled: Callable[[], bool] | None = (
            partial(logging.getLogger(__name__).isEnabledFor, logging.DEBUG)
            if logger is None
            else None
        )
        self.capture_content = capture_content
        self._runs: dict[UUID, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    # -- per-run loggers ---------------------------------------------------

    def _bind(self, event: BaseEvent, *, keep: bool = True, **extra: Any) -> Any:
        bound = self._logger.bind(
            run_id=str(event.run_id),
            trace_id=str(event.trace_id),
            parent_run_id=None if event.parent_run_id is None else str(event.parent_run_id),
            run_name=event.name,
            tags=list(event.tags),
            **extra,
        )
        if keep:
            with self._lock:
                self._runs[event.run_id] = (bound, event.monotonic)
        return bound

    def _get(self, event: BaseEvent) -> Any:
        with self._lock:
            found = self._runs.get(event.run_id)
        # A run whose start this handler missed still gets a bound logger.
        return found[0] if found is not None else self._bind(event)

    def _finish(self, event: BaseEvent) -> tuple[Any, float | None]:
        with self._lock:
            found = self._runs.pop(event.run_id, None)
        if found is None:
            return self._bind(event, keep=False), None
        return found[0], event.monotonic - found[1]

    # -- LLM runs -----------------------------------------------------------

    def on_llm_start(self, event: LLMStart) -> None:
        log = self._bind(event, model=event.model)
        fields: dict[str, Any] = {
            "params": redact(event.invocation_params),
            "metadata": redact(event.metadata),
        }
        if event.prompt is not None:
            if self.capture_content:
                fields["prompt"] = redact_text(event.prompt)
            else:
                fields["prompt_chars"] = len(event.prompt)
        if event.messages is not None:
            if self.capture_content:
                fields["messages"] = [
                    {"role": m.role, "content": redact_text(m.text)} for m in event.messages
                ]
            else:
                fields["messages_count"] = len(event.messages)
        log.info("llm_start", **fields)

    def on_llm_new_token(self, event: NewToken) -> None:
        if self._debug_enabled is not None and not self._debug_enabled():
            return
        log = self._get(event)
        if self.capture_content:
            log.debug("llm_new_token", index=event.index, token=event.token)
        else:
            log.debug("llm_new_token", index=event.index, token_chars=len(event.token))

    def on_block_end(self, event: BlockEnd) -> None:
        if self._debug_enabled is not None and not self._debug_enabled():
            return
        content = event.content
        fields: dict[str, Any] = {"block": event.block, "kind": content.type}
        if self.capture_content:
            fields["content"] = redact(content.model_dump(mode="json"))
        log = self._get(event)
        log.debug("block_end", **fields)

    def on_llm_end(self, event: LLMEnd) -> None:
        log, duration = self._finish(event)
        log.info(
            "llm_end",
            duration_s=duration,
            **_result_fields(event.result, self.capture_content),
        )

    def on_llm_error(self, event: LLMError) -> None:
        log, duration = self._finish(event)
        log.error(
            "llm_error",
            reason=event.reason,
            error_type=event.error.type,
            error_message=redact_text(event.error.message),
            duration_s=duration,
            **_result_fields(event.partial, self.capture_content),
        )

    # -- parent runs ----------------------------------------------------------

    def on_chain_start(self, event: ChainStart) -> None:
        log = self._bind(event)
        fields: dict[str, Any] = {"metadata": redact(event.metadata)}
        if self.capture_content and event.inputs is not None:
            fields["inputs"] = redact(event.inputs)
        log.info("chain_start", **fields)

    def on_chain_end(self, event: ChainEnd) -> None:
        log, duration = self._finish(event)
        fields: dict[str, Any] = {"duration_s": duration}
        if self.capture_content:
            fields["outputs"] = redact(event.outputs)
        log.info("chain_end", **fields)

    def on_chain_error(self, event: ChainError) -> None:
        self._error("chain_error", event)

    def _error(self, what: str, event: ChainError | ToolError) -> None:
        log, duration = self._finish(event)
        log.error(
            what,
            reason=event.reason,
            error_type=event.error.type,
            error_message=redact_text(event.error.message),
            duration_s=duration,
        )

    # -- tool runs ------------------------------------------------------------

    def on_tool_start(self, event: ToolStart) -> None:
        log = self._bind(event, tool_call_id=event.tool_call_id)
        fields: dict[str, Any] = {"metadata": redact(event.metadata)}
        if self.capture_content:
            fields["args"] = redact(event.args)
        else:
            fields["args_keys"] = sorted(event.args)
        log.info("tool_start", **fields)

    def on_tool_end(self, event: ToolEnd) -> None:
        log, duration = self._finish(event)
        fields: dict[str, Any] = {"duration_s": duration}
        if self.capture_content:
            fields["output"] = redact(event.output)
        log.info("tool_end", **fields)

    def on_tool_error(self, event: ToolError) -> None:
        self._error("tool_error", event)
