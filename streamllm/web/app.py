"""``create_app``: the ASGI app that runs a model and streams its runs from the bus.

>>> from streamllm import FakeListLLM
>>> from streamllm.web import create_app
>>> app = create_app(FakeListLLM(responses=["Hello there"]))   # doctest: +SKIP
>>> # uvicorn.run(app)  -> POST /runs, GET /runs/{id}/events, GET /

Endpoints (DESIGN.md section 14): ``POST /runs`` (202), ``GET /runs``,
``GET /runs/{id}/events`` (SSE, resumable), ``POST /runs/{id}/cancel``,
``POST /api/chat`` (the Vercel AI SDK UI message stream), ``GET /stats`` and
the page at ``GET /``. Every error is JSON, ``{"error", "status"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streamllm.bus.control import Control, control_for
from streamllm.bus.errors import BusError
from streamllm.errors import ConfigurationError
from streamllm.web.aisdk import DONE, UI_STREAM_HEADERS, UIMessageParts, messages_from_ui
from streamllm.web.buses import BusView, publisher_for
from streamllm.web.guard import BearerGuard, error_response, read_json
from streamllm.web.hub import Hub
from streamllm.web.page import page_response
from streamllm.web.runs import RunHandle, RunRequest, Runs, validation_message
from streamllm.web.sse import EventStream, FrameCache, PumpSource, Source, StreamStats

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(
    model: Any,
    bus: Any = None,
    *,
    token: str | None = None,
    cors_origins: Sequence[str] | None = None,
    max_body: int = 64 * 1024,
    heartbeat: float = 15.0,
    client_buffer: int = 1024,
    stall_timeout: float = 10.0,
    max_running: int = 256,
) -> Starlette:
    """The web app serving ``model``; events travel through ``bus`` (a ``MemoryBus`` by default).

    ``token``: every endpoint but the page needs ``Authorization: Bearer <token>``.
    ``cors_origins``: origins allowed to call the API from another page (none by
    default). ``max_body``: the largest request body, in bytes. ``heartbeat``:
    seconds between SSE comments on an idle stream. ``client_buffer`` frames are
    held per client; one whose socket takes nothing for ``stall_timeout``
    seconds is dropped (it may resume). ``max_running``: runs at once.
    """
    if bus is None:
        from streamllm.bus import MemoryBus

        bus = MemoryBus()
    view = BusView(bus)
    publisher = publisher_for(bus)
    runs = Runs(model, publisher, max_running=max_running)
    stats = StreamStats()
    cache = FrameCache()
    hub = Hub(view, cache)
    control = control_for(bus)

    def stream(source: Source, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
        return EventStream(
            source,
            stats=stats,
            heartbeat=heartbeat,
            buffer=client_buffer,
            stall_timeout=stall_timeout,
            headers=headers,
        )

    async def post_run(request: Request) -> Response:
        summary = _launch(runs, hub, await read_json(request, max_body)).summary()
        return JSONResponse(summary, 202, headers={"location": summary["events_url"]})

    async def list_runs(request: Request) -> Response:
        local = [h.summary() for h in runs.recent()]
        seen = {r["run_id"] for r in local}
        remote = [r for r in await view.runs() if r["run_id"] not in seen]
        return JSONResponse({"runs": (local + remote)[:200]})

    async def known(request: Request) -> uuid.UUID:
        try:
            run_id = uuid.UUID(request.path_params["run_id"])
        except ValueError:
            raise HTTPException(404, "no such run") from None
        if runs.get(run_id) is None and not await view.has_run(str(run_id)):
            raise HTTPException(404, "no such run")
        return run_id

    async def events(request: Request) -> Any:
        run_id = str(await known(request))
        after = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        if not view.valid_entry_id(after):
            raise HTTPException(422, f"{after!r} is not an event id of this bus")

        async def frames() -> AsyncIterator[bytes]:
            async with contextlib.aclosing(view.subscribe(run_id, after)) as entries:
                async for entry_id, event in entries:
                    yield cache.frame(run_id, entry_id, event)

        # A run running here is read once for all its clients; others, each their own.
        return stream(hub.client(run_id, after) or PumpSource(frames()))

    async def cancel(request: Request) -> Response:
        run_id = await known(request)
        if runs.cancel(run_id):
            return JSONResponse({"run_id": str(run_id), "cancelling": True}, 202)
        handle = runs.get(run_id)
        if handle is not None:
            raise HTTPException(409, f"the run has already ended ({handle.state})")
        # Another process runs it: ask it through the bus, unless the bus says it ended.
        state = await view.run_state(str(run_id))
        if state not in (None, "running"):
            raise HTTPException(409, f"the run has already ended ({state})")
        if control is None:
            raise HTTPException(409, "this run is served by another process; cancel it there")
        try:
            await control.request_cancel(run_id)
        except BusError as exc:
            raise HTTPException(503, f"could not forward the cancel request: {exc}") from None
        return JSONResponse({"run_id": str(run_id), "cancelling": True, "forwarded": True}, 202)

    async def chat(request: Request) -> Any:
        body = await read_json(request, max_body)
        try:
            messages = messages_from_ui(body.get("messages") if isinstance(body, dict) else None)
        except ConfigurationError as exc:
            raise HTTPException(422, str(exc)) from None
        handle = _launch(runs, hub, {"input": messages})
        run_id = str(handle.run_id)
        parts = UIMessageParts(run_id)

        async def frames() -> AsyncIterator[bytes]:
            async with contextlib.aclosing(view.subscribe(run_id, "0")) as entries:
                async for _, event in entries:
                    for part in parts.parts(event):
                        yield b"data: " + json.dumps(part).encode() + b"\n\n"
            yield DONE

        return stream(PumpSource(frames()), UI_STREAM_HEADERS)

    async def get_stats(request: Request) -> Response:
        return JSONResponse({"streams": stats.as_dict(), "running": runs.running})

    async def page(request: Request) -> Response:
        return page_response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return error_response(500, "internal server error")

    middleware: list[Middleware] = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "last-event-id"],
            )
        )
    if token is not None:
        middleware.append(Middleware(BearerGuard, token=token))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        listener = None if control is None else asyncio.create_task(_obey(control, runs))
        yield
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await runs.aclose()
        await hub.aclose()
        await view.aclose(publisher)

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/runs", post_run, methods=["POST"]),
            Route("/runs", list_runs, methods=["GET"]),
            Route("/runs/{run_id}/events", events, methods=["GET"]),
            Route("/runs/{run_id}/cancel", cancel, methods=["POST"]),
            Route("/api/chat", chat, methods=["POST"]),
            Route("/stats", get_stats, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.runs = runs
    app.state.stats = stats
    app.state.bus = bus
    return app


async def _obey(control: Control, runs: Runs) -> None:
    """Cancel the runs of this server that another process (or this one) asked to."""
    async with contextlib.aclosing(control.cancels()) as requests:  # type: ignore[type-var]
        async for run_id in requests:
            if runs.cancel(run_id):
                log.info("run %s cancelled at another server's request", run_id)


def _launch(runs: Runs, hub: Hub, body: Any) -> RunHandle:
    """Start the run a request body asks for; its faults as HTTP errors."""
    try:
        handle = runs.start(RunRequest.model_validate(body))
    except ValidationError as exc:
        raise HTTPException(422, validation_message(exc)) from None
    except ConfigurationError as exc:
        raise HTTPException(422, str(exc)) from None
    except OverflowError as exc:
        raise HTTPException(429, str(exc)) from None
    hub.track(str(handle.run_id))
    return handle
