"""The endpoints in-process (httpx's ASGI transport): statuses, bodies, SSE framing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from streamllm.web import create_app
from tests.web.apps import FOX, make_app
from tests.web.sse import events_of, parse_frames, text_of


async def _client(pace: float = 0.1, **settings: Any) -> httpx.AsyncClient:
    app = make_app(pace=pace, **settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web.test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with await _client() as c:
        yield c


async def _start(client: httpx.AsyncClient, prompt: str = "hello", **params: Any) -> str:
    response = await client.post("/runs", json={"input": prompt, "params": params})
    assert response.status_code == 202, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def test_post_runs_answers_202_with_the_run_and_where_its_events_are(
    client: httpx.AsyncClient,
) -> None:
    """POST /runs starts the run on the server and says where to follow it."""
    response = await client.post("/runs", json={"input": "hello"})
    assert response.status_code == 202
    body = response.json()
    assert body["trace_id"] == body["run_id"]
    assert body["events_url"] == f"/runs/{body['run_id']}/events"
    assert response.headers["location"] == body["events_url"]
    await client.get(body["events_url"])  # let the run finish inside the test


async def test_events_stream_every_event_in_order_with_bus_ids(client: httpx.AsyncClient) -> None:
    """The SSE body: id = bus entry id, event = type, data = the event's JSON; it
    ends after the terminal event."""
    run_id = await _start(client)
    response = await client.get(f"/runs/{run_id}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = events_of(response.text)
    assert frames[0].event == "llm_start"
    assert frames[-1].event == "llm_end"
    assert all(f.event == f.data["type"] and f.data["run_id"] == run_id for f in frames)
    assert text_of(frames) == FOX
    assert frames[-1].data["result"]["generations"][0][0]["text"] == FOX
    positions = [int(f.id.split("-")[1]) for f in frames if f.id]
    assert positions == list(range(len(frames)))


@pytest.mark.parametrize("how", ["header", "query"])
async def test_resuming_after_an_id_replays_only_what_came_after(
    client: httpx.AsyncClient, how: str
) -> None:
    """Last-Event-ID (or ?after=) gives exactly the events after that id."""
    run_id = await _start(client)
    everything = events_of((await client.get(f"/runs/{run_id}/events")).text)
    cut = everything[4].id
    if how == "header":
        response = await client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": cut})
    else:
        response = await client.get(f"/runs/{run_id}/events", params={"after": cut})
    assert [f.id for f in events_of(response.text)] == [f.id for f in everything[5:]]


async def test_an_idle_stream_gets_comment_heartbeats() -> None:
    """While the model pauses, comments keep the connection alive."""
    async with await _client(heartbeat=0.02) as client:
        run_id = await _start(client, "pause")
        frames = parse_frames((await client.get(f"/runs/{run_id}/events")).text)
    assert any(f.comment and f.data == "keep-alive" for f in frames)
    assert frames[-1].event == "llm_end"


async def test_cancel_ends_the_run_as_cancelled_and_a_second_cancel_is_409(
    client: httpx.AsyncClient,
) -> None:
    """POST /runs/{id}/cancel: the run's terminal is LLMError(reason="cancelled")."""
    run_id = await _start(client, "slow")
    response = await client.post(f"/runs/{run_id}/cancel")
    assert response.status_code == 202
    frames = events_of((await client.get(f"/runs/{run_id}/events")).text)
    assert frames[-1].event == "llm_error"
    assert frames[-1].data["reason"] == "cancelled"
    again = await client.post(f"/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json() == {"error": "the run has already ended (cancelled)", "status": 409}


def test_two_apps_on_one_memory_bus_forward_a_cancel_to_the_run_s_owner() -> None:
    """The MemoryBus's control channel: the app that did not start the run answers
    202 and the owner cancels it (its terminal event says so)."""
    from starlette.testclient import TestClient

    from streamllm.bus import MemoryBus
    from tests.web.apps import ScriptedLLM

    bus = MemoryBus()
    owner, other = create_app(ScriptedLLM(), bus), create_app(ScriptedLLM(), bus)
    with TestClient(owner) as a, TestClient(other) as b:
        run_id = a.post("/runs", json={"input": "slow"}).json()["run_id"]
        forwarded = b.post(f"/runs/{run_id}/cancel")
        assert forwarded.status_code == 202, forwarded.text
        assert forwarded.json()["forwarded"] is True
        frames = events_of(b.get(f"/runs/{run_id}/events").text)
        assert frames[-1].event == "llm_error"
        assert frames[-1].data["reason"] == "cancelled"
        assert b.post(f"/runs/{run_id}/cancel").status_code == 409


async def test_get_runs_lists_recent_runs_newest_first(client: httpx.AsyncClient) -> None:
    """GET /runs: what ran here, with its state and where its events are."""
    first = await _start(client, "hello")
    await client.get(f"/runs/{first}/events")
    second = await _start(client, "fail now")
    await client.get(f"/runs/{second}/events")
    runs = (await client.get("/runs")).json()["runs"]
    assert [r["run_id"] for r in runs][:2] == [second, first]
    assert [r["state"] for r in runs][:2] == ["failed", "done"]
    assert runs[1]["title"] == "hello"


async def test_a_failing_model_ends_its_run_with_llm_error_and_the_server_stays_up(
    client: httpx.AsyncClient,
) -> None:
    """The provider's failure is the run's terminal event, not a server error."""
    run_id = await _start(client, "fail")
    frames = events_of((await client.get(f"/runs/{run_id}/events")).text)
    assert frames[-1].event == "llm_error"
    assert frames[-1].data["reason"] == "failed"
    assert "scripted model failed" in frames[-1].data["error"]["message"]
    assert (await client.get("/runs")).status_code == 200


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/runs/6c1f8a52-0000-4000-8000-000000000000/events", "GET"),
        ("/runs/6c1f8a52-0000-4000-8000-000000000000/cancel", "POST"),
        ("/runs/not-a-uuid/events", "GET"),
        ("/nowhere", "GET"),
    ],
)
async def test_unknown_runs_and_paths_are_json_404s(
    client: httpx.AsyncClient, path: str, method: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "input: Field required"),
        ({"input": 3}, "input"),
        ({"input": ""}, "input"),
        ({"input": "hi", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"input": "hi", "params": {"top_p": 5}}, "params.top_p"),
        ({"input": "hi", "params": {"api_key": "x"}}, "params.api_key"),
        ({"input": [{"role": "wizard", "content": "hi"}]}, "unknown role 'wizard'"),
        ([1, 2], "body"),
    ],
)
async def test_invalid_input_is_a_422_with_the_message(
    client: httpx.AsyncClient, body: Any, message: str
) -> None:
    response = await client.post("/runs", json=body)
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert "Traceback" not in response.text


async def test_a_body_that_is_not_json_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/runs", content=b"{nope")
    assert response.status_code == 422
    assert response.json()["error"] == "the request body is not valid JSON"


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_past_the_limit_is_a_413(chunked: bool) -> None:
    """Refused by its Content-Length, or while reading a chunked body."""
    payload = json.dumps({"input": "x" * 5000}).encode()
    async with await _client(max_body=1000) as client:
        if chunked:

            async def body() -> AsyncIterator[bytes]:
                for i in range(0, len(payload), 500):
                    yield payload[i : i + 500]

            response = await client.post("/runs", content=body())
        else:
            response = await client.post("/runs", content=payload)
    assert response.status_code == 413
    assert response.json()["error"] == "the request body is larger than 1000 bytes"


async def test_params_the_model_refuses_are_a_422_naming_the_field() -> None:
    """model.bind checks the run's params as the model's constructor would."""
    from pydantic import Field

    from tests.web.apps import ScriptedLLM

    class Cool(ScriptedLLM):
        temperature: float | None = Field(default=None, le=1.0)

    app = create_app(Cool())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web.test"
    ) as client:
        response = await client.post("/runs", json={"input": "hi", "params": {"temperature": 1.5}})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error.startswith("params: ")
        assert "temperature" in error
        accepted = await client.post("/runs", json={"input": "hi", "params": {"temperature": 0.5}})
        assert accepted.status_code == 202
        start = events_of((await client.get(accepted.json()["events_url"])).text)[0]
        assert start.data["invocation_params"]["temperature"] == 0.5


async def test_per_run_params_reach_the_model(client: httpx.AsyncClient) -> None:
    """params.max_tokens and tags show in the run's start event."""
    run_id = await _start(client, "hello", max_tokens=7, tags=["web"])
    start = events_of((await client.get(f"/runs/{run_id}/events")).text)[0].data
    assert start["invocation_params"]["max_tokens"] == 7
    assert start["tags"] == ["web"]


async def test_messages_are_accepted_as_input(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/runs",
        json={
            "input": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hello"},
            ]
        },
    )
    assert response.status_code == 202
    frames = events_of((await client.get(response.json()["events_url"])).text)
    assert frames[0].data["messages"][1] == {"role": "user", "content": "hello"}
    assert text_of(frames) == FOX


async def test_with_a_token_every_endpoint_but_the_page_needs_it() -> None:
    """401 without the bearer token or with a wrong one; the page itself is public."""
    async with await _client(token="s3cret") as client:
        for method, path in [
            ("GET", "/runs"),
            ("POST", "/runs"),
            ("POST", "/api/chat"),
            ("GET", "/stats"),
        ]:
            response = await client.request(method, path, json={"input": "hi"})
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            assert "s3cret" not in response.text
        wrong = await client.get("/runs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await client.get("/")).status_code == 200
        auth = {"Authorization": "Bearer s3cret"}
        started = await client.post("/runs", json={"input": "hi"}, headers=auth)
        assert started.status_code == 202
        events = await client.get(started.json()["events_url"], headers=auth)
        assert events_of(events.text)[-1].event == "llm_end"


async def test_cors_is_off_unless_configured() -> None:
    origin = {"Origin": "http://elsewhere.example"}
    async with await _client() as client:
        response = await client.get("/runs", headers=origin)
        assert "access-control-allow-origin" not in response.headers
    async with await _client(cors_origins=["http://elsewhere.example"]) as client:
        response = await client.get("/runs", headers=origin)
        assert response.headers["access-control-allow-origin"] == "http://elsewhere.example"


async def test_the_page_is_one_self_contained_file_with_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    """GET / serves the page: nothing from another host, scripts only its own."""
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy
    html = response.text
    for elsewhere in ("http://", "https://", "//cdn"):
        assert elsewhere not in html
    assert "innerHTML" not in html


async def test_stats_count_the_streams_served(client: httpx.AsyncClient) -> None:
    run_id = await _start(client)
    await client.get(f"/runs/{run_id}/events")
    stats = (await client.get("/stats")).json()
    assert stats["streams"] == {"open": 0, "served": 1, "dropped": 0}
    assert stats["running"] == 0


async def test_api_chat_speaks_the_ai_sdk_ui_message_stream(client: httpx.AsyncClient) -> None:
    """POST /api/chat: start, text-start, text-deltas, text-end, finish, then [DONE]."""
    body = {
        "id": "chat1",
        "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}],
    }
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = events_of(response.text)
    assert frames[-1].data == "[DONE]"
    parts = [f.data for f in frames[:-1]]
    types = [p["type"] for p in parts]
    assert types[:3] == ["start", "start-step", "text-start"]
    assert types[-3:] == ["text-end", "finish-step", "finish"]
    assert set(types[3:-3]) == {"text-delta"}
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == FOX
    assert len({p["id"] for p in parts if p["type"].startswith("text-")}) == 1
    assert parts[-1]["finishReason"] == "stop"
    assert parts[-1]["messageMetadata"]["usage"]["source"] == "estimated"
    # The run is a run like any other: listed, and its events replayable.
    run_id = parts[0]["messageId"]
    assert any(r["run_id"] == run_id for r in (await client.get("/runs")).json()["runs"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": []},
        {"messages": [{"role": "robot", "parts": []}]},
        {"messages": [{"role": "user", "parts": []}]},
    ],
)
async def test_api_chat_refuses_malformed_messages_with_422(
    client: httpx.AsyncClient, body: Any
) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 422
    assert response.json()["error"]


async def test_a_server_fault_is_a_json_500_without_a_traceback() -> None:
    """Whatever breaks inside, the client gets JSON, never the traceback."""
    app = create_app(object())  # not a model: starting a run fails inside the server
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        response = await client.post("/runs", json={"input": "hi"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "status": 500}
    assert "Traceback" not in response.text
    assert "AttributeError" not in response.text


async def test_a_client_that_falls_behind_the_run_is_let_go_and_resumes_exactly() -> None:
    """Its queue full, a client of a running run gets the dropped notice and its
    stream ends; resuming from its last id gives the rest, nothing twice."""
    async with await _client(client_buffer=4) as client:
        run_id = await _start(client, "burst")
        first = parse_frames((await client.get(f"/runs/{run_id}/events")).text)
        assert first[-1].event == "dropped"
        assert first[-1].data == {"reason": "slow_client"}
        got = [f for f in first if f.id]
        rest = events_of(
            (await client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": got[-1].id})).text
        )
        stats = (await client.get("/stats")).json()["streams"]
    frames = got + rest
    assert text_of(frames) == FOX
    assert len({f.id for f in frames}) == len(frames)
    assert frames[-1].event == "llm_end"
    assert stats["dropped"] == 1


async def test_clients_joining_a_running_run_at_any_point_get_the_same_events() -> None:
    """Early, late and resuming clients of one run see one sequence."""
    async with await _client(pace=1.0) as client:
        run_id = await _start(client, "hello")
        early = asyncio.create_task(client.get(f"/runs/{run_id}/events"))
        await asyncio.sleep(0.3)
        late = asyncio.create_task(client.get(f"/runs/{run_id}/events"))
        bodies = [events_of((await t).text) for t in (early, late)]
        middle = bodies[0][len(bodies[0]) // 2].id
        resumed = events_of(
            (await client.get(f"/runs/{run_id}/events", params={"after": middle})).text
        )
    assert [f.id for f in bodies[0]] == [f.id for f in bodies[1]]
    assert [f.id for f in resumed] == [f.id for f in bodies[0][len(bodies[0]) // 2 + 1 :]]
    assert text_of(bodies[1]) == FOX


async def test_no_api_key_reaches_a_response() -> None:
    """A provider's key appears in no run summary, event or error the server sends."""
    from streamllm.models.openai import OpenAI

    secret = "sk-web-test-0123456789abcdef"
    model = OpenAI(api_key=secret, base_url="http://127.0.0.1:9/v1", max_retries=0, model="m")
    app = create_app(model)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web.test"
    ) as client:
        started = await client.post("/runs", json={"input": "hi"})
        events = await client.get(started.json()["events_url"])
        listing = await client.get("/runs")
    frames = events_of(events.text)
    assert frames[-1].event == "llm_error"  # nothing listens on port 9
    for body in (started.text, events.text, listing.text):
        assert secret not in body


def test_shutting_the_server_down_ends_its_runs_as_cancelled() -> None:
    """The app's lifespan: on shutdown a run still going gets its terminal event."""
    from starlette.testclient import TestClient

    app = make_app(pace=1.0)
    with TestClient(app) as client:
        run_id = client.post("/runs", json={"input": "slow"}).json()["run_id"]
    terminal = app.state.bus.read(run_id)[-1][1]
    assert terminal.type == "llm_error"
    assert terminal.reason == "cancelled"
