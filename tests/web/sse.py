"""Reading SSE bodies in tests: frames as (id, event, data) with the data decoded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Frame:
    id: str | None
    event: str | None
    data: Any
    comment: bool = False


def parse_frames(body: str) -> list[Frame]:
    """Every frame of an SSE body, comments (heartbeats) included."""
    frames: list[Frame] = []
    for raw in body.split("\n\n"):
        if not raw:
            continue
        if raw.startswith(":"):
            frames.append(Frame(None, None, raw[1:].strip(), comment=True))
            continue
        fields: dict[str, str] = {}
        for line in raw.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        data = fields.get("data", "")
        frames.append(
            Frame(
                fields.get("id"),
                fields.get("event"),
                data if data == "[DONE]" else json.loads(data),
            )
        )
    return frames


def events_of(body: str) -> list[Frame]:
    """The frames that carry an event (no heartbeats)."""
    return [f for f in parse_frames(body) if not f.comment]


def text_of(frames: list[Frame]) -> str:
    return "".join(f.data["token"] for f in frames if f.event == "new_token")
