"""The one place where an event meets its handlers: :func:`deliver` and :func:`adeliver`.

Both call each target's hook in order and hand every failure to
:class:`~streamllm.callbacks.failures.Failures`, which holds the policy. A
``KeyboardInterrupt``, ``SystemExit`` or cancellation raised by a hook is never
swallowed: the handlers after it still get the event (so none misses a token
the result contains), then it propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from streamllm.signals import SIGNALS

if TYPE_CHECKING:
    from streamllm.callbacks.failures import Failures
    from streamllm.callbacks.registry import Entry

__all__ = ["Target", "adeliver", "deliver", "send_signal"]

#: A handler's hook for one event kind: its entry, the hook, whether it is awaited.
Target: TypeAlias = tuple["Entry", Callable[[Any], Any], bool]


def deliver(targets: tuple[Target, ...], event: Any, failures: Failures) -> None:
    """Call every (sync) hook in ``targets`` with ``event``, in order."""
    for entry, fn, _ in targets:
        try:
            fn(event)
        except Exception as exc:
            failures.record(entry, event, exc)
        except BaseException:
            _rest(targets, entry, event, failures)
            raise


async def adeliver(
    targets: tuple[Target, ...],
    event: Any,
    failures: Failures,
    *,
    deferred: bool = False,
    after: Callable[[Any], None] | None = None,
) -> None:
    """Call every hook in ``targets`` with ``event``, in order, awaiting async ones.

    ``deferred`` marks failures of async hooks run for sync code (see
    :class:`~streamllm.callbacks.failures.Failures`); ``after(event)`` runs once
    every hook has (the run manager sends the signal there), so a caller can
    hand this coroutine on instead of awaiting it in one of its own.
    """
    for entry, fn, is_async in targets:
        try:
            if is_async:
                await fn(event)
            else:
                fn(event)
        except Exception as exc:
            failures.record(entry, event, exc, deferred=deferred)
        except BaseException:
            # Being cancelled: only sync hooks can still see the event.
            _rest(tuple(t for t in targets if not t[2] or t[0] is entry), entry, event, failures)
            raise
    if after is not None:
        after(event)


def _rest(targets: tuple[Target, ...], failed: Entry, event: Any, failures: Failures) -> None:
    after = False
    for entry, fn, _ in targets:
        if after:
            try:
                fn(event)
            except Exception as exc:
                failures.record(entry, event, exc)
        after = after or entry is failed


def send_signal(event: Any, sender: object, failures: Failures) -> None:
    """Send ``event`` to the blinker receivers of its signal, each isolated like a
    handler (blinker alone would stop at the first that raises)."""
    from streamllm.callbacks.registry import receiver_entry

    for receiver in SIGNALS[event.slot].receivers_for(sender):
        try:
            receiver(sender, event=event)
        except Exception as exc:
            failures.record(receiver_entry(receiver), event, exc)
