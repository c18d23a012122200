"""Two server processes on one RedisBus: a run started on one streams from the other."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.apps import FOX, SLOW
from tests.web.servers import Server, serve_command, start_server
from tests.web.sse import events_of, text_of

pytest.importorskip("redis")
if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
    pytest.skip("no redis-server (scripts/test.sh installs Debian's)", allow_module_level=True)

from tests.bus.redis_server import RedisServer


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two uvicorn processes sharing one redis-server of their own."""
    redis = RedisServer(tmp_path_factory.mktemp("web-redis")).start()
    first = start_server(tmp_path_factory.mktemp("web-a"), None, redis.url)
    second = start_server(tmp_path_factory.mktemp("web-b"), None, redis.url)
    try:
        yield next(first), next(second)
    finally:
        first.close()
        second.close()
        redis.stop()


def test_a_run_started_on_one_server_streams_from_the_other(pair: tuple[Server, Server]) -> None:
    one, other = pair
    with one.client() as a, other.client() as b:
        run_id = a.post("/runs", json={"input": "hello"}).json()["run_id"]
        frames = events_of(b.get(f"/runs/{run_id}/events").text)
        assert frames[0].event == "llm_start"
        assert frames[-1].event == "llm_end"
        assert text_of(frames) == FOX
        # The same entry ids on both: a browser may resume on either.
        again = events_of(a.get(f"/runs/{run_id}/events").text)
        assert [f.id for f in again] == [f.id for f in frames]
        listed = {r["run_id"]: r["state"] for r in b.get("/runs").json()["runs"]}
        assert listed[run_id] == "done"


def test_resuming_on_the_other_server_gives_the_rest(pair: tuple[Server, Server]) -> None:
    """Resume from the other process with Last-Event-ID; an ended run is not cancelled."""
    one, other = pair
    with one.client() as a, other.client() as b:
        run_id = a.post("/runs", json={"input": "slow"}).json()["run_id"]
        everything = events_of(a.get(f"/runs/{run_id}/events").text)
        cut = everything[10].id or ""
        rest = events_of(b.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": cut}).text)
        assert text_of(everything[:11] + rest) == SLOW
        refused = b.post(f"/runs/{run_id}/cancel")
        assert refused.status_code == 409
        assert refused.json()["error"] == "the run has already ended (ended)"


def test_cancel_on_the_server_that_did_not_start_the_run_reaches_its_owner(
    pair: tuple[Server, Server],
) -> None:
    """202 forwarded through the bus's control channel; the owner cancels the run and
    its terminal event on the bus says so; then 409 on both; an unknown run is 404."""
    one, other = pair
    with one.client() as a, other.client() as b:
        run_id = a.post("/runs", json={"input": "slow"}).json()["run_id"]
        forwarded = b.post(f"/runs/{run_id}/cancel")
        assert forwarded.status_code == 202, forwarded.text
        assert forwarded.json() == {"run_id": run_id, "cancelling": True, "forwarded": True}
        frames = events_of(b.get(f"/runs/{run_id}/events").text)
        assert frames[-1].event == "llm_error"
        assert frames[-1].data["reason"] == "cancelled"
        assert SLOW.startswith(text_of(frames))
        assert text_of(frames) != SLOW
        for server in (a, b):
            again = server.post(f"/runs/{run_id}/cancel")
            assert again.status_code == 409
            assert again.json()["error"] == "the run has already ended (cancelled)"
        listed = {r["run_id"]: r["state"] for r in b.get("/runs").json()["runs"]}
        assert listed[run_id] == "cancelled"
        unknown = b.post("/runs/6c1f8a52-0000-4000-8000-000000000000/cancel")
        assert unknown.status_code == 404


def test_two_streamllm_serve_commands_share_runs_through_redis(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`streamllm serve --bus redis://...` twice: a run started on one streams from the other."""
    redis = RedisServer(tmp_path_factory.mktemp("serve-redis")).start()
    first = serve_command("--bus", redis.url)
    second = serve_command("--bus", redis.url)
    try:
        one, other = next(first), next(second)
        run_id = httpx.post(f"{one}/runs", json={"input": "hi"}).json()["run_id"]
        frames = events_of(httpx.get(f"{other}/runs/{run_id}/events", timeout=10).text)
        assert frames[-1].event == "llm_end"
        assert text_of(frames).startswith("This is the fake provider")
    finally:
        first.close()
        second.close()
        redis.stop()


def test_two_streamllm_serve_commands_cancel_each_others_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`streamllm serve --bus redis://...` twice: a cancel sent to the process that
    did not start the run ends it cancelled."""
    redis = RedisServer(tmp_path_factory.mktemp("serve-cancel-redis")).start()
    first = serve_command("--bus", redis.url, "--delay", "0.2")
    second = serve_command("--bus", redis.url, "--delay", "0.2")
    try:
        one, other = next(first), next(second)
        run_id = httpx.post(f"{one}/runs", json={"input": "hi"}).json()["run_id"]
        forwarded = httpx.post(f"{other}/runs/{run_id}/cancel", timeout=10)
        assert forwarded.status_code == 202, forwarded.text
        frames = events_of(httpx.get(f"{other}/runs/{run_id}/events", timeout=30).text)
        assert frames[-1].event == "llm_error"
        assert frames[-1].data["reason"] == "cancelled"
        assert httpx.post(f"{one}/runs/{run_id}/cancel").status_code == 409
    finally:
        first.close()
        second.close()
        redis.stop()
