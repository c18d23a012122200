"""Commands as Redis protocol bytes, packed once per batch on the publisher's writer.

redis-py packs every argument through its encoder and type checks (about a
third of the writer's time per event); here a trace's ``XADD <key> MAXLEN ~ <n>``
head is packed once and kept, and each entry adds only its id, fields and body.
Any other command takes the same generic path, one argument at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["pack", "send_packed"]

_HEADS: dict[tuple[Any, ...], bytes] = {}
_MAX_HEADS = 4096  # about one per trace being written; forgotten all at once past this
_HEAD_ARGS = 5  # "XADD", key, "MAXLEN", "~", maxlen


def _bulk(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        data = arg
    elif isinstance(arg, str):
        data = arg.encode()
    elif isinstance(arg, int | float):
        data = repr(arg).encode()
    else:
        raise TypeError(f"cannot send a {type(arg).__name__} to Redis")
    return b"$%d\r\n%b\r\n" % (len(data), data)


def _cached(args: tuple[Any, ...]) -> bytes:
    packed = _HEADS.get(args)
    if packed is None:
        if len(_HEADS) >= _MAX_HEADS:
            _HEADS.clear()
        packed = _HEADS[args] = b"".join(_bulk(arg) for arg in args)
    return packed


def pack(commands: Iterable[Sequence[Any]]) -> bytes:
    """The bytes of ``commands``, in order, for one ``sendall``."""
    out: list[bytes] = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        if command[0] == "XADD" and len(command) > _HEAD_ARGS + 1 and command[2] == "MAXLEN":
            # head (per trace), id, the fields before the body (the same in
            # every event entry), the body
            out.append(_cached(tuple(command[:_HEAD_ARGS])))
            out.append(_bulk(command[_HEAD_ARGS]))
            out.append(_cached(tuple(command[_HEAD_ARGS + 1 : -1])))
            out.append(_bulk(command[-1]))
        else:
            out.extend(_bulk(arg) for arg in command)
    return b"".join(out)


def send_packed(pool: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Write commands in one round trip on one pooled connection; the replies in
    order, a refused command's error in its place.

    What ``pipeline(transaction=False)`` does for writes, without its per-command
    bookkeeping and reply callbacks (XADD and EXPIRE replies need none): about a
    fifth of the publisher's time per event.
    """
    from redis.exceptions import ResponseError

    try:
        conn = pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name
        conn = pool.get_connection("XADD")
    try:
        conn.send_packed_command([pack(commands)])
        results: list[Any] = []
        for _ in commands:
            try:
                results.append(conn.read_response())
            except ResponseError as exc:
                results.append(exc)
        return results
    except BaseException:
        conn.disconnect()  # replies may be left unread: never reuse it
        raise
    finally:
        pool.release(conn)
