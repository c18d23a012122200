"""Delivering an end event when ``raise_error`` handlers are attached (issue 11.8).

The rule: ``raise_error`` handlers see an end event (``LLMEnd``, ``ChainEnd``,
``ToolEnd``: any class with ``phase == "end"``) before the other handlers. If
one fails on it, or an async ``raise_error`` handler run from sync code failed
earlier in the run, every handler that has not seen the end yet gets the
matching error event (its ``as_failure``, ``reason="failed"``) in its place,
signals send that error event, and the caller gets the ``HandlerError``. No
handler sees two terminal events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamllm.callbacks.deliver import Target, adeliver, deliver, send_signal
from streamllm.callbacks.kinds import as_failure
from streamllm.callbacks.tables import Tables, split, unseen
from streamllm.signals import SIGNALS

if TYPE_CHECKING:
    from streamllm.callbacks.failures import Failures
    from streamllm.callbacks.loop import AsyncDrain

__all__ = ["aend", "end"]


def end(
    t: Tables,
    failures: Failures,
    event: Any,
    sender: object,
    drain: AsyncDrain | None,
    stray: AsyncDrain | None,
) -> None:
    """The sync form (async handlers of sync code are on the run's drains)."""
    strict, rest = split(t.inline[event.slot])
    strict_async: tuple[Target, ...] = ()
    if drain is not None and t.strict_async:
        # The async raise_error handlers must have seen everything before the end.
        strict_async = split(t.drain[event.slot])[0]
        if strict_async:
            drain.put(event, strict_async)
        drain.catch_up()
    deliver(strict, event, failures)
    error = failures.take() or failures.deferred
    failures.deferred = None
    if error is not None:
        event = as_failure(event, error)
        rest = unseen(t.inline[event.slot], strict)
    deliver(rest, event, failures)
    if SIGNALS[event.slot].receivers:
        send_signal(event, sender, failures)
    if drain is not None:
        drain.put(event, unseen(t.drain[event.slot], strict_async))
    if stray is not None:
        stray.put(event)
    if error is not None:
        raise error


async def aend(t: Tables, failures: Failures, event: Any, sender: object) -> None:
    """The async form: every hook is awaited inline."""
    strict, rest = split(t.ordered[event.slot])
    await adeliver(strict, event, failures)
    error = failures.take()
    if error is not None:
        event = as_failure(event, error)
        rest = unseen(t.ordered[event.slot], strict)
    await adeliver(rest, event, failures)
    if SIGNALS[event.slot].receivers:
        send_signal(event, sender, failures)
    error = error or failures.take()
    if error is not None:
        raise error
