"""Run ids: random version-4 UUIDs, made cheaply (one per run, on the call path)."""

from __future__ import annotations

from random import getrandbits
from uuid import UUID

__all__ = ["new_run_id"]

_VERSION_4 = 0x4000 << 64
_VARIANT = 0x8000 << 48
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))


def new_run_id() -> UUID:
    """A random UUID4; not for secrets, only unique ids."""
    return UUID(int=(getrandbits(128) & _CLEAR) | _VERSION_4 | _VARIANT)
