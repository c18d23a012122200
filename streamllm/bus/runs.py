"""The index of runs: one small entry per run start and per run terminal.

Both buses keep it (Redis as the stream ``streamllm:runs``), and ``runs()``
folds it into one :class:`RunInfo` per run, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from streamllm.bus.entries import TERMINAL_PHASES
from streamllm.events import BaseEvent

__all__ = ["RunInfo", "RunState", "fold", "index_fields"]

RunState = Literal["running", "ended", "failed", "cancelled", "timeout"]


class RunInfo(BaseModel):
    """What the bus knows of one run: ``state`` is ``"running"`` until its
    terminal event, then ``"ended"`` or the error's reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: UUID
    trace_id: UUID
    parent_run_id: UUID | None = None
    name: str
    type: str
    state: RunState = "running"
    started: float | None = None
    ended: float | None = None
    #: Entry id of the run's start in its trace's stream.
    entry_id: str | None = None


def index_fields(event: BaseEvent, entry_id: str) -> dict[str, str] | None:
    """The index entry for ``event``, or None when it neither starts nor ends a run."""
    phase = type(event).phase
    if phase != "start" and phase not in TERMINAL_PHASES:
        return None
    fields = {
        "run": str(event.run_id),
        "trace": str(event.trace_id),
        "phase": phase,
        "type": event.type,  # type: ignore[attr-defined]
        "name": event.name,
        "time": repr(event.time),
        "id": entry_id,
    }
    if event.parent_run_id is not None:
        fields["parent"] = str(event.parent_run_id)
    reason = getattr(event, "reason", None)
    if isinstance(reason, str):
        fields["reason"] = reason
    return fields


def fold(entries: Iterable[Mapping[str, str]], limit: int | None = None) -> list[RunInfo]:
    """Index entries, oldest first, folded into runs, newest first."""
    runs: dict[str, RunInfo] = {}
    for fields in entries:
        run, kind, phase = fields["run"], fields["type"], fields["phase"]
        if phase == "start":
            if run in runs:
                continue  # a retried write indexed the start twice
            parent = fields.get("parent")
            runs[run] = RunInfo(
                run_id=UUID(run),
                trace_id=UUID(fields["trace"]),
                parent_run_id=UUID(parent) if parent else None,
                name=fields["name"],
                type=kind,
                started=float(fields["time"]),
                entry_id=fields["id"],
            )
        elif run in runs:
            state: RunState = "ended" if phase == "end" else _reason(fields)
            runs[run] = runs[run].model_copy(
                update={"state": state, "ended": float(fields["time"])}
            )
    newest = list(reversed(runs.values()))
    return newest if limit is None else newest[:limit]


def _reason(fields: Mapping[str, str]) -> RunState:
    reason = fields.get("reason", "failed")
    return reason if reason in ("cancelled", "timeout") else "failed"  # type: ignore[return-value]
