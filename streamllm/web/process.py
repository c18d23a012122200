"""Settings of a process that serves the web app (``streamllm serve`` applies them).

A server streaming to a thousand clients allocates a small dict or future per
frame per client. With CPython's default collector thresholds that is a young
collection every 700 allocations, and the objects of every stream still open
get scanned again and again; a full collection over the startup objects (the
imported libraries, the model) pauses every stream at once, which shows as the
token latency's tail. So, once the app is built: collect, freeze what survived
(it is never scanned again), and raise the thresholds.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["tune_gc"]

#: Young allocations between collections, and collections before the next generation.
GC_THRESHOLDS: Final = (20_000, 20, 20)


def tune_gc() -> None:
    """Freeze the objects alive now and raise the collector's thresholds (process-wide)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
