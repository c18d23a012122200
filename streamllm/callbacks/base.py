"""Handler base classes: override the hooks you want; each takes one typed event.

>>> class TokenPrinter(CallbackHandler):
...     def on_llm_new_token(self, event: NewToken) -> None:
...         print(event.token, end="", flush=True)

The manager looks up which hooks a handler overrides once, when the handler is
attached, and never calls the others. ``on_event`` is the catch-all: it gets
every event the handler has no specific hook for (a recorder or an exporter
overrides it alone). Set ``raise_error = True`` on a handler whose failure
must stop the run (DESIGN.md section 3).
"""

from __future__ import annotations

from typing import Any, ClassVar

from streamllm.events import (
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)

__all__ = ["AsyncCallbackHandler", "CallbackHandler", "HandlerWrapper"]


class CallbackHandler:
    """Synchronous handler: hooks run inline, in the thread (or loop) of the run."""

    #: When True, a failure in this handler ends the run and raises ``HandlerError``.
    raise_error: ClassVar[bool] = False

    def on_event(self, event: BaseEvent) -> None:
        """Any event this handler has no specific hook for."""

    def on_llm_start(self, event: LLMStart) -> None:
        """A model run is about to call its provider."""

    def on_llm_new_token(self, event: NewToken) -> None:
        """A text chunk streamed; the consumer has not seen it yet."""

    def on_llm_end(self, event: LLMEnd) -> None:
        """The run finished normally."""

    def on_llm_error(self, event: LLMError) -> None:
        """The run failed or was abandoned."""

    def on_chain_start(self, event: ChainStart) -> None:
        """A parent run (``traced``) began."""

    def on_chain_end(self, event: ChainEnd) -> None:
        """A parent run finished."""

    def on_chain_error(self, event: ChainError) -> None:
        """A parent run failed or was cancelled."""


class AsyncCallbackHandler:
    """Asynchronous handler: hooks are awaited in order.

    In async code they are awaited inline; in sync code they run on the
    library's background loop, one ordered queue per run.
    """

    raise_error: ClassVar[bool] = False

    async def on_event(self, event: BaseEvent) -> None:
        """Any event this handler has no specific hook for."""

    async def on_llm_start(self, event: LLMStart) -> None:
        """A model run is about to call its provider."""

    async def on_llm_new_token(self, event: NewToken) -> None:
        """A text chunk streamed; the consumer has not seen it yet."""

    async def on_llm_end(self, event: LLMEnd) -> None:
        """The run finished normally."""

    async def on_llm_error(self, event: LLMError) -> None:
        """The run failed or was abandoned."""

    async def on_chain_start(self, event: ChainStart) -> None:
        """A parent run (``traced``) began."""

    async def on_chain_end(self, event: ChainEnd) -> None:
        """A parent run finished."""

    async def on_chain_error(self, event: ChainError) -> None:
        """A parent run failed or was cancelled."""


class HandlerWrapper(CallbackHandler):
    """A handler that stands for another one (``wrapped``) and receives, through
    :meth:`on_event`, exactly the event kinds the wrapped handler wants; its
    ``raise_error`` is the wrapped handler's. :class:`BackgroundHandler` is one.
    """

    #: The handler this one stands for (anything ``callbacks=[...]`` accepts).
    wrapped: Any

    def on_event(self, event: BaseEvent) -> None:
        raise NotImplementedError
