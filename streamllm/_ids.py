"""Run ids: random version-4 UUIDs, made cheaply (one per run, on the call path).

They come from a private generator seeded from the OS: the global ``random``
module is reseeded by tests (hypothesis does it per example) and by
applications, and ids must never repeat because of that. A forked child
reseeds, so parent and child never share a sequence.
"""

from __future__ import annotations

import os
import random
from uuid import UUID, SafeUUID

__all__ = ["new_run_id"]

_VERSION_4 = 0x4000 << 64
_VARIANT = 0x8000 << 48
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))

_rng = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_rng.seed)
_bits = _rng.getrandbits
# UUID(int=...) checks its arguments in Python on every call; the int built
# here is a valid version-4 value by construction, so the two slots are set
# directly (UUID blocks __setattr__, hence object's).
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def new_run_id() -> UUID:
    """A random UUID4; not for secrets, only unique ids (equal in every way to
    ``UUID(int=...)`` of the same value)."""
    u: UUID = _new(UUID)
    _set(u, "int", (_bits(128) & _CLEAR) | _VERSION_4 | _VARIANT)
    _set(u, "is_safe", _UNKNOWN)
    return u
