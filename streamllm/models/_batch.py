"""batch and abatch: many inputs, one run each, concurrently; results in input order.

Sync batches run on threads from :func:`copy_context_executor` (so scoped
handlers and the parent run follow them); async batches are tasks on the
running loop. Without ``return_exceptions`` no new run starts after the first
failure, and that failure is raised once every run in flight has ended.

Ctrl-C (or a ``KeyboardInterrupt``/``SystemExit`` raised in a worker, by a
handler say) ends the runs in flight as cancelled and reaches the caller as
itself, never as a value in the results. The results, when they are returned,
are always as long as the inputs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Any, final

from streamllm.callbacks.context import copy_context_executor
from streamllm.callbacks.manager import CallbackManager
from streamllm.models._run import TEXT, Call, Driver
from streamllm.request import Outcome

__all__ = ["Batch", "arun_batch", "run_batch"]

_SKIPPED: Any = object()


@final
class Batch:
    """A prepared batch: one :class:`Call` per input, the manager their runs
    share, the run name, and how they run."""

    __slots__ = (
        "calls",
        "driver",
        "limit",
        "manager",
        "name",
        "need_result",
        "return_exceptions",
        "tokens",
    )

    def __init__(
        self,
        calls: list[Call[Any]],
        manager: CallbackManager,
        name: str,
        limit: int | None,
        *,
        tokens: bool,
        need_result: bool,
        return_exceptions: bool,
        driver: Driver = TEXT,
    ) -> None:
        self.calls = calls
        self.driver = driver
        self.manager = manager
        self.name = name
        self.limit = limit
        self.tokens = tokens
        self.need_result = need_result
        self.return_exceptions = return_exceptions

    def value(self, outcome: Outcome) -> Any:
        return outcome.result if self.need_result else outcome.output()


def run_batch(batch: Batch, sender: object) -> list[Any]:
    calls = batch.calls
    stop = threading.Event()
    cancel = threading.Event()
    failures: list[BaseException] = []
    interrupts: list[BaseException] = []

    def one(call: Call[Any]) -> Any:
        if stop.is_set():
            return _SKIPPED
        run = batch.manager.start_run(name=batch.name, sender=sender)
        outcome = batch.driver.outcome()
        try:
            for _ in batch.driver.drive(
                call,
                run,
                outcome,
                tokens=batch.tokens,
                need_result=batch.need_result,
                cancel=cancel,
            ):
                pass
        except Exception as exc:
            failures.append(exc)
            raise
        except BaseException as exc:
            # KeyboardInterrupt or SystemExit in this worker: the other runs
            # end as cancelled, and the caller gets this exception itself.
            if not isinstance(exc, asyncio.CancelledError):
                interrupts.append(exc)
            stop.set()
            cancel.set()
            raise
        return batch.value(outcome)

    if not calls:
        return []
    workers = min(batch.limit or 32, len(calls))
    if workers == 1:
        return _sequential(one, calls, batch.return_exceptions)
    pool = copy_context_executor(workers)
    futures: list[Future[Any]] = []
    try:
        futures.extend(pool.submit(one, c) for c in calls)
        if not batch.return_exceptions:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                stop.set()
                for f in futures:
                    f.cancel()
        wait(futures)
    except BaseException:
        stop.set()
        cancel.set()
        for f in futures:
            f.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
    if interrupts:
        _retrieve(futures)
        raise interrupts[0]
    return _collect(futures, failures, batch.return_exceptions)


async def arun_batch(batch: Batch, sender: object) -> list[Any]:
    calls = batch.calls
    semaphore = asyncio.Semaphore(batch.limit or len(calls) or 1)
    failures: list[BaseException] = []
    return_exceptions = batch.return_exceptions

    async def one(call: Call[Any]) -> Any:
        async with semaphore:
            if failures and not return_exceptions:
                return _SKIPPED
            run = batch.manager.start_run(name=batch.name, sender=sender, mode="async")
            outcome = batch.driver.outcome()
            try:
                async for _ in batch.driver.adrive(
                    call, run, outcome, tokens=batch.tokens, need_result=batch.need_result
                ):
                    pass
            except Exception as exc:
                failures.append(exc)
                raise
            return batch.value(outcome)

    tasks = [asyncio.ensure_future(one(c)) for c in calls]
    try:
        await asyncio.wait(tasks) if tasks else None
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return _collect(tasks, failures, return_exceptions)


def _sequential(fn: Any, calls: list[Call[Any]], return_exceptions: bool) -> list[Any]:
    out: list[Any] = []
    for call in calls:
        try:
            out.append(fn(call))
        except Exception as exc:
            if not return_exceptions:
                raise
            out.append(exc)
    return out


def _retrieve(futures: Sequence[Any]) -> None:
    # Retrieve every failure, so asyncio never reports one as unretrieved.
    for f in futures:
        if f.done() and not f.cancelled():
            f.exception()


def _collect(
    futures: Sequence[Any], failures: list[BaseException], return_exceptions: bool
) -> list[Any]:
    """Results in input order; without ``return_exceptions``, raise the first
    failure (in time), after every run in flight ended."""
    _retrieve(futures)
    if failures and not return_exceptions:
        raise failures[0]
    out: list[Any] = []
    for f in futures:
        exc = f.exception()
        out.append(exc if exc is not None else f.result())
    if any(value is _SKIPPED for value in out):  # pragma: no cover - a bug if it happens
        raise RuntimeError("a batch run was skipped although nothing failed")
    return out
