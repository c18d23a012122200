"""BusError, and the one place where redis-py's exceptions are translated.

A Redis URL may carry a password (``redis://:secret@host:6379/0``). It is never
printed: reprs, error messages and log records use :func:`redact`, and a
redis-py exception whose text holds the password is not kept as the cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from streamllm.errors import BusError

__all__ = ["BusError", "redact", "translated"]


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``.

    >>> redact("redis://user:s3cret@host:6379/0")
    'redis://user:***@host:6379/0'
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def password_of(url: str) -> str | None:
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def _mentions(exc: BaseException, secret: str) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if secret in str(seen) or secret in repr(seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def bus_error(exc: BaseException, url: str, doing: str) -> BusError:
    """The :class:`BusError` for a redis-py (or socket) exception ``exc``."""
    detail = str(exc) or type(exc).__name__
    secret = password_of(url)
    if secret and secret in detail:
        detail = detail.replace(secret, "***")
    error = BusError(f"{doing} on {redact(url)} failed: {type(exc).__name__}: {detail}")
    if not (secret and _mentions(exc, secret)):
        error.__cause__ = exc
    return error


@contextmanager
def translated(url: str, doing: str) -> Iterator[None]:
    """Turn whatever redis-py raises inside into a :class:`BusError`."""
    from redis.exceptions import RedisError

    try:
        yield
    except BusError:
        raise
    except (RedisError, OSError, ValueError) as exc:
        error = bus_error(exc, url, doing)
    else:
        return
    # Raised outside the handler, so the original is not kept as ``__context__``
    # either (only as ``__cause__``, when it does not hold the password).
    raise error
