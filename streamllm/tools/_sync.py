"""Running an async tool from sync code (``tool.invoke`` on a coroutine function).

The coroutine runs to completion on an event loop of its own, as
``asyncio.run`` would: in the calling thread when no loop runs there, else in
a worker thread (a sync call made from async code blocks its loop anyway, and
waiting on that same loop for the coroutine would never return). Either way
it runs in a copy of the caller's context, so the tool run stays the parent of
what the coroutine calls. The library's background loop is not used: it runs
async handlers, and a slow or blocking tool there would hold every run's
handlers back (and a tool called from an async handler would wait on itself).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["run_coroutine"]


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """The result of the coroutine ``factory()`` makes, run on a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    context = contextvars.copy_context()
    box: list[Any] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            box.append(context.run(asyncio.run, factory()))
        except BaseException as exc:  # handed to the caller as it is
            failure.append(exc)

    thread = threading.Thread(target=work, name="streamllm-tool", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return box[0]
