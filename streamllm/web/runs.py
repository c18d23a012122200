"""The runs a web server executes: started as tasks, published to the bus, cancellable.

A run belongs to the server, not to the request that started it: the request
answers 202 at once, the model streams in a background task whose only handler
(besides the model's own) publishes every event to the bus, and browsers follow
it from the bus. Closing a browser never touches the task; ``cancel`` does, and
the run then ends with ``LLMError(reason="cancelled")`` like any cancelled call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, final

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from streamllm.errors import ConfigurationError

__all__ = ["RunHandle", "RunParams", "RunRequest", "Runs"]

log = logging.getLogger(__name__)

State = Literal["running", "done", "failed", "cancelled"]
# Parameters that make a differently configured model; the rest go in the call's config.
_MODEL_PARAMS = ("max_tokens", "temperature", "top_p", "stop")


class RunParams(BaseModel):
    """The ``params`` of ``POST /runs``: generation parameters and the call's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: list[str] | None = Field(default=None, max_length=8)
    tags: list[str] | None = Field(default=None, max_length=16)
    metadata: dict[str, JsonValue] | None = None
    run_name: str | None = Field(default=None, max_length=200)


class RunRequest(BaseModel):
    """The body of ``POST /runs``: a prompt or a list of messages, and parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str | list[dict[str, Any]] = Field(min_length=1)
    params: RunParams = RunParams()


def validation_message(exc: ValidationError) -> str:
    """Pydantic's errors as one line: ``input: field required; params.top_p: ...``."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


@final
@dataclass
class RunHandle:
    """One run started by this server."""

    run_id: uuid.UUID
    title: str
    started: float = field(default_factory=time.time)
    state: State = "running"
    task: asyncio.Task[None] | None = None

    def summary(self) -> dict[str, Any]:
        run = str(self.run_id)
        return {
            "run_id": run,
            "trace_id": run,
            "title": self.title,
            "state": self.state,
            "started": self.started,
            "events_url": f"/runs/{run}/events",
        }


@final
class Runs:
    """Starts runs on ``model`` with ``publisher`` attached and keeps the recent ones.

    At most ``max_running`` run at once (a new one past that is refused) and the
    ``keep`` most recent are remembered for ``GET /runs``.
    """

    def __init__(
        self, model: Any, publisher: object, *, max_running: int = 256, keep: int = 200
    ) -> None:
        self._model = model
        self._publisher = publisher
        self._max_running = max_running
        self._keep = keep
        self._runs: OrderedDict[uuid.UUID, RunHandle] = OrderedDict()
        self._variants: OrderedDict[str, Any] = OrderedDict()

    @property
    def running(self) -> int:
        """How many runs are going now (running runs are never forgotten)."""
        return sum(1 for h in self._runs.values() if h.task is not None and not h.task.done())

    def start(self, request: RunRequest) -> RunHandle:
        """Start a run; raises ``ConfigurationError`` for an input the model refuses."""
        if self.running >= self._max_running:
            raise OverflowError(f"{self.running} runs are already running; try again later")
        params = request.params
        model = self._with_params(params)
        run_id = uuid.uuid4()
        config: dict[str, Any] = {"callbacks": [self._publisher], "run_id": run_id}
        for key in ("tags", "metadata", "run_name"):
            value = getattr(params, key)
            if value is not None:
                config[key] = value
        # astream checks the input when called, so a bad one is a 422 here, not a
        # failed run later.
        stream = model.astream(request.input, **config)
        handle = RunHandle(run_id, _title(request.input))
        handle.task = asyncio.create_task(self._drive(handle, stream), name=f"run-{run_id}")
        self._runs[run_id] = handle
        while len(self._runs) > self._keep:
            oldest = next(iter(self._runs.values()))
            if oldest.state == "running":
                break
            self._runs.popitem(last=False)
        return handle

    def get(self, run_id: uuid.UUID) -> RunHandle | None:
        return self._runs.get(run_id)

    def recent(self) -> list[RunHandle]:
        """Newest first."""
        return list(reversed(self._runs.values()))

    def cancel(self, run_id: uuid.UUID) -> bool:
        """Cancel a running run of this server; False when it had already ended."""
        handle = self._runs.get(run_id)
        if handle is None or handle.task is None or handle.task.done():
            return False
        # Scheduled, not immediate: a task cancelled before its first step never
        # enters its body, and its run would never send a terminal event.
        asyncio.get_running_loop().call_soon(handle.task.cancel)
        return True

    async def aclose(self) -> None:
        """Cancel every run still going (server shutdown) and wait for their terminals."""
        tasks = [h.task for h in self._runs.values() if h.task is not None and not h.task.done()]
        await asyncio.sleep(0)  # let a task started just now enter its body (see cancel)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drive(self, handle: RunHandle, stream: AsyncIterator[Any]) -> None:
        try:
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for _ in stream:
                    pass
            handle.state = "done"
        except asyncio.CancelledError:
            handle.state = "cancelled"
            raise
        except Exception as exc:
            # The run's LLMError already went to the bus; the server stays up.
            handle.state = "failed"
            log.info("run %s failed: %s", handle.run_id, type(exc).__name__)

    def _with_params(self, params: RunParams) -> Any:
        """The model bound to the run's generation parameters (``model.bind``), kept
        for reuse: runs asking for the same parameters share one bound copy."""
        values = {k: getattr(params, k) for k in _MODEL_PARAMS if getattr(params, k) is not None}
        if not values:
            return self._model
        key = repr(sorted(values.items()))
        variant = self._variants.get(key)
        if variant is not None:
            self._variants.move_to_end(key)
            return variant
        try:
            variant = self._model.bind(**values)
        except ConfigurationError as exc:
            # bind names the field; the request calls them params.
            raise ConfigurationError(f"params: {exc}") from exc
        self._variants[key] = variant
        if len(self._variants) > 8:
            self._variants.popitem(last=False)
        return variant


def _title(input: str | list[dict[str, Any]]) -> str:
    if isinstance(input, str):
        text = input
    else:
        last: Mapping[str, Any] = input[-1] if input else {}
        content = last.get("content")
        text = content if isinstance(content, str) else ""
    text = " ".join(text.split())
    return text[:80] + ("…" if len(text) > 80 else "")
