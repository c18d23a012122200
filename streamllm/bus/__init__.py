"""The bus across processes (DESIGN.md section 13).

``MemoryBus`` inside one process, ``RedisBus`` across processes (extra
``[redis]``), one interface (:class:`Bus`); :class:`BusPublisher` is the
handler that puts a run's events on a bus.

>>> from streamllm.bus import BusPublisher, MemoryBus
>>> bus = MemoryBus()
>>> publisher = BusPublisher(bus)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamllm.bus.base import Bus
from streamllm.bus.entries import EntriesLost
from streamllm.bus.errors import BusError
from streamllm.bus.memory import MemoryBus
from streamllm.bus.publisher import BusPublisher
from streamllm.bus.runs import RunInfo

if TYPE_CHECKING:
    from streamllm.bus.redis_bus import RedisBus

__all__ = ["Bus", "BusError", "BusPublisher", "EntriesLost", "MemoryBus", "RedisBus", "RunInfo"]


def __getattr__(name: str) -> Any:
    # RedisBus loads on first use: redis-py is an optional extra.
    if name == "RedisBus":
        from streamllm.bus.redis_bus import RedisBus

        return RedisBus
    raise AttributeError(f"module 'streamllm.bus' has no attribute {name!r}")
