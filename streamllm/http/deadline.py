"""Token deadlines that fire on time while the server sends nothing.

httpx takes one read timeout per response body: it times each socket read, so
it can enforce neither "the first token within ``first_token_timeout`` of the
request" (bytes that are not tokens, such as pings, restart it) nor two
different limits in one body. A :class:`Deadline` holds the instant by which
the next token is due; the attempt loop moves it after each token and marks
the stretches it spends waiting for the server (``reading``). Two small
enforcers interrupt a read that outlives it:

* sync: :data:`WATCHDOG`, one thread for the process (started on demand, gone
  when nothing is watched), shuts the socket down, so the blocked read returns;
* async: a timer on the event loop cancels the reading task, and the attempt
  loop turns that cancellation into the timeout.

Either way the attempt sees ``fired`` and raises :func:`timeout_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading
import time
from typing import Any, Literal, final

from streamllm.errors import ProviderTimeout

__all__ = ["WATCHDOG", "AsyncTimer", "Deadline", "Phase", "timeout_error"]

Phase = Literal["connect", "first_token", "idle"]

# How often to look again at a deadline that passed while the consumer, not
# the server, held the stream (nothing to interrupt then).
_RECHECK = 0.05
# How long the watchdog thread waits for new work before it ends (short: a test
# suite that checks for leftover threads waits this long at most).
_LINGER = 0.25

_WHAT = {
    "connect": "connecting took longer than {limit:g} s (connect_timeout)",
    "first_token": "no token within {limit:g} s of the request (first_token_timeout)",
    "idle": "no token for {limit:g} s after the previous one (idle_timeout)",
}


def timeout_error(provider: str, phase: Phase, limit: float | None) -> ProviderTimeout:
    """The error for a timeout in ``phase``; its message names the phase and
    the parameter that set it."""
    text = _WHAT[phase].format(limit=limit if limit is not None else math.inf)
    return ProviderTimeout(f"{provider}: {text}", phase=phase)


@final
class Deadline:
    """When the next token is due, and whether the attempt waits for the server now.

    ``first`` and ``idle`` are the two limits (``None``: no limit); the
    deadline starts at ``started + first`` and moves to ``now + idle`` at each
    token (:meth:`token`).
    """

    __slots__ = ("at", "fired", "first", "idle", "phase", "reading", "sock", "task", "timer")

    def __init__(self, started: float, first: float | None, idle: float | None) -> None:
        self.first = first
        self.idle = idle
        self.at = started + first if first is not None else math.inf
        self.phase: Phase = "first_token"
        self.reading = False
        self.fired = False
        self.sock: Any = None  # sync: the socket to shut down
        self.task: asyncio.Task[Any] | None = None  # async: the task to cancel
        self.timer: asyncio.TimerHandle | None = None

    def token(self) -> None:
        """A token arrived: the next one is due ``idle`` seconds from now."""
        self.phase = "idle"
        idle = self.idle
        self.at = time.monotonic() + idle if idle is not None else math.inf

    @property
    def limit(self) -> float | None:
        """The limit of the current phase."""
        return self.idle if self.phase == "idle" else self.first

    def expired(self, now: float) -> bool:
        return now >= self.at

    def next_check(self, now: float) -> float:
        """When an enforcer must look again. A token can move the deadline
        earlier (``idle`` shorter than what is left of ``first``) without
        waking the enforcer, so it never sleeps longer than ``idle``: it then
        always sees a moved deadline before that deadline passes."""
        at = self.at
        if self.idle is not None and self.idle < at - now:
            return now + self.idle
        return at


@final
class _Watchdog:
    """The sync enforcer: one thread, woken for the earliest deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._watched: set[Deadline] = set()
        self._thread: threading.Thread | None = None
        self._used = False  # a watch came since the thread last looked
        self._wake_at = 0.0  # when the thread looks again by itself

    def watch(self, deadline: Deadline, sock: Any) -> None:
        if sock is None or (deadline.at == math.inf and deadline.idle is None):
            return  # nothing to interrupt, or no limit to enforce
        deadline.sock = sock
        with self._cond:
            self._watched.add(deadline)
            self._used = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="streamllm-timeouts", daemon=True
                )
                self._thread.start()
            elif deadline.next_check(time.monotonic()) < self._wake_at:
                self._cond.notify()  # due before the thread would look again

    def unwatch(self, deadline: Deadline) -> None:
        if deadline.sock is None:
            return
        with self._cond:
            self._watched.discard(deadline)
            if not self._watched:
                self._cond.notify()
        deadline.sock = None

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._watched:
                    # Linger a moment: back-to-back sync calls reuse the thread
                    # instead of starting one each (~60 us of CPU per call).
                    self._used = False
                    self._wake_at = time.monotonic() + _LINGER
                    self._cond.wait(_LINGER)
                    if not self._watched and not self._used:
                        self._thread = None
                        return
                    continue
                now = time.monotonic()
                wake = math.inf
                for deadline in list(self._watched):
                    if not deadline.expired(now):
                        wake = min(wake, deadline.next_check(now))
                    elif deadline.reading:
                        deadline.fired = True
                        self._watched.discard(deadline)
                        _shut(deadline.sock)
                    else:
                        wake = min(wake, now + _RECHECK)
                self._wake_at = wake
                self._cond.wait(None if wake == math.inf else max(wake - now, 0.0))


def _shut(sock: Any) -> None:
    # The base class's shutdown, also for an SSL socket: it wakes the read
    # blocked on it at once (the read then sees the end of the stream).
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


#: The process's sync enforcer.
WATCHDOG = _Watchdog()


@final
class AsyncTimer:
    """The async enforcer for one deadline: a loop timer, re-armed lazily (a
    token only moves ``Deadline.at``; the timer looks again when it fires)."""

    __slots__ = ("_deadline", "_loop")

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._loop = asyncio.get_running_loop()
        deadline.task = asyncio.current_task()
        now = time.monotonic()
        self._arm(deadline.next_check(now) - now)

    def _arm(self, delay: float) -> None:
        deadline = self._deadline
        if deadline.at == math.inf and deadline.idle is None:
            deadline.timer = None
            return
        deadline.timer = self._loop.call_later(max(delay, 0.0), self._check)

    def _check(self) -> None:
        deadline = self._deadline
        now = time.monotonic()
        if not deadline.expired(now):
            self._arm(deadline.next_check(now) - now)
        elif deadline.reading and deadline.task is not None:
            deadline.fired = True
            deadline.timer = None
            deadline.task.cancel()
        else:
            self._arm(_RECHECK)

    def stop(self) -> None:
        timer = self._deadline.timer
        if timer is not None:
            timer.cancel()
            self._deadline.timer = None
