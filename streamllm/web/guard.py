"""The checks in front of every endpoint: bearer token, body size, JSON errors.

``BearerGuard`` is plain ASGI middleware, so it also guards the streaming
responses. The page itself (``GET /``) is a static file with nothing secret in
it; it is served without the token so that it can ask for one.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["BearerGuard", "error_response", "read_json"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
_PUBLIC = frozenset({"/", "/favicon.ico"})


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one shape of every error: ``{"error": message, "status": status}``."""
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


@final
class BearerGuard:
    """Refuses with 401 every request but the page's own that lacks ``Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self._app(scope, receive, send)
            return
        response = error_response(
            401, "this server needs a bearer token", {"www-authenticate": "Bearer"}
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if scope["method"] in ("GET", "HEAD") and scope["path"] in _PUBLIC:
            return True
        if scope["method"] == "OPTIONS":  # CORS preflight carries no credentials
            return True
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refusing past ``limit`` bytes (413) or bad JSON (422)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the request body is larger than {limit} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise HTTPException(422, "the request body is not valid JSON") from None
