"""batch and abatch: many inputs, one run each, concurrently; results in input order.

Sync batches run on threads from :func:`copy_context_executor` (so scoped
handlers and the parent run follow them); async batches are tasks on the
running loop. Without ``return_exceptions`` no new run starts after the first
failure, and that failure is raised once every run in flight has ended.
Ctrl-C (or cancelling the awaiting task) ends the runs in flight as cancelled.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import TYPE_CHECKING, Any

from streamllm.callbacks.context import copy_context_executor
from streamllm.models._run import Outcome, Request, adrive, drive

if TYPE_CHECKING:
    from streamllm.models.base import BaseLLM, LLMInput, RunnableConfig

__all__ = ["arun_batch", "run_batch"]

_SKIPPED: Any = object()


def run_batch(
    model: BaseLLM,
    inputs: Sequence[LLMInput],
    config: RunnableConfig | None,
    kwargs: dict[str, Any],
    max_concurrency: int | None,
    return_exceptions: bool,
    need_result: bool,
) -> Any:
    requests, manager, name, limit = model._prepare_batch(inputs, config, kwargs, max_concurrency)
    stop = threading.Event()
    cancel = threading.Event()
    stream = model._use_stream()
    failures: list[BaseException] = []

    def one(request: Request) -> Any:
        if stop.is_set():
            return _SKIPPED
        run = manager.start_run(name=name, sender=model)
        outcome = Outcome()
        try:
            for _ in drive(
                model,
                run,
                request,
                outcome,
                stream=stream,
                need_result=need_result,
                cancel=cancel,
            ):
                pass
        except Exception as exc:
            failures.append(exc)
            raise
        return outcome.result if need_result else outcome.text

    if not requests:
        return []
    workers = min(limit or 32, len(requests))
    if workers == 1:
        return _sequential(one, requests, return_exceptions)
    pool = copy_context_executor(workers)
    futures: list[Future[Any]] = []
    try:
        futures.extend(pool.submit(one, r) for r in requests)
        if not return_exceptions:
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
    return _collect(futures, failures, return_exceptions)


async def arun_batch(
    model: BaseLLM,
    inputs: Sequence[LLMInput],
    config: RunnableConfig | None,
    kwargs: dict[str, Any],
    max_concurrency: int | None,
    return_exceptions: bool,
    need_result: bool,
) -> Any:
    requests, manager, name, limit = model._prepare_batch(inputs, config, kwargs, max_concurrency)
    semaphore = asyncio.Semaphore(limit or len(requests) or 1)
    failures: list[BaseException] = []
    stream = model._use_stream()

    async def one(request: Request) -> Any:
        async with semaphore:
            if failures and not return_exceptions:
                return _SKIPPED
            run = manager.start_run(name=name, sender=model, mode="async")
            outcome = Outcome()
            try:
                async for _ in adrive(
                    model, run, request, outcome, stream=stream, need_result=need_result
                ):
                    pass
            except Exception as exc:
                failures.append(exc)
                raise
            return outcome.result if need_result else outcome.text

    tasks = [asyncio.ensure_future(one(r)) for r in requests]
    try:
        await asyncio.wait(tasks) if tasks else None
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return _collect(tasks, failures, return_exceptions)


def _sequential(fn: Any, requests: list[Request], return_exceptions: bool) -> list[Any]:
    out: list[Any] = []
    for request in requests:
        try:
            out.append(fn(request))
        except Exception as exc:
            if not return_exceptions:
                raise
            out.append(exc)
    return out


def _collect(
    futures: Sequence[Any], failures: list[BaseException], return_exceptions: bool
) -> list[Any]:
    """Results in input order; without ``return_exceptions``, raise the first
    failure (in time), after every run in flight ended."""
    for f in futures:
        # Retrieve every failure, so asyncio never reports one as unretrieved.
        if f.done() and not f.cancelled():
            f.exception()
    if failures and not return_exceptions:
        raise failures[0]
    out: list[Any] = []
    for f in futures:
        if f.cancelled():
            continue
        exc = f.exception()
        value = exc if exc is not None else f.result()
        if value is not _SKIPPED:
            out.append(value)
    return out
