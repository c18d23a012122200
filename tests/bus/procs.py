"""The other processes of the bus tests: ``python -m tests.bus.procs ROLE ...``.

Each role writes what it saw to a file, one JSON line per item, flushed line by
line, so the test reads it even after the process was killed.

- ``subscribe URL TRACE AFTER OUT``: a subscription (``TRACE`` may be ``all``).
- ``worker URL GROUP NAME OUT [STALL_AT]``: one consumer of a group. With
  ``STALL_AT``, the handler stops forever (until killed) on that many-th event,
  after writing ``OUT.stalled``.
- ``produce URL RUNS OUT``: ``RUNS`` concurrent runs of a fake model, published
  with a BusPublisher; writes the events an in-process handler saw.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from streamllm.bus import BusPublisher, EntriesLost, RedisBus
from streamllm.events import BaseEvent


def _line(out: Any, entry_id: str, item: BaseEvent | EntriesLost) -> None:
    line = {"id": entry_id, "item": item.model_dump(mode="json"), "at": time.time()}
    out.write(json.dumps(line) + "\n")
    out.flush()


def subscribe(url: str, trace: str, after: str, path: str) -> None:
    bus = RedisBus(url)
    bus.ping()
    Path(path + ".ready").touch()
    with open(path, "w") as out:
        for entry_id, item in bus.subscribe(None if trace == "all" else trace, after=after):
            _line(out, entry_id, item)


def worker(url: str, group: str, name: str, path: str, stall_at: str = "0") -> None:
    bus = RedisBus(url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen = 0
    with open(path, "w") as out:

        def handle(event: BaseEvent) -> None:
            nonlocal seen
            seen += 1
            if seen == int(stall_at):
                Path(path + ".stalled").write_text(f"{event.run_id} {event.seq}")
                time.sleep(3600)
            out.write(json.dumps({"run": str(event.run_id), "seq": event.seq, "by": name}) + "\n")
            out.flush()

        bus.consume(group, name, [handle], stop=stop, claim_idle=1.0, start="0")


def produce(url: str, runs: str, path: str) -> None:
    from streamllm.models import FakeListLLM

    bus = RedisBus(url)
    publisher = BusPublisher(bus)
    seen: list[BaseEvent] = []
    words = " ".join(f"w{i}" for i in range(20))
    model = FakeListLLM(responses=[words], delay=0.001)

    async def main() -> None:
        await asyncio.gather(
            *(model.ainvoke("hi", callbacks=[publisher, seen.append]) for _ in range(int(runs)))
        )

    asyncio.run(main())
    assert publisher.flush(30), "publisher did not flush"
    with open(path, "w") as out:
        for event in seen:
            out.write(event.model_dump_json() + "\n")
    publisher.close()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    {"subscribe": subscribe, "worker": worker, "produce": produce}[role](*args)
