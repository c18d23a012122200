"""The endpoints over real sockets (uvicorn): live streaming, disconnects, a stalled client."""

from __future__ import annotations

import socket
import time

import httpx

from tests.web.apps import FOX, SLOW
from tests.web.servers import Server
from tests.web.sse import Frame, events_of, parse_frames, text_of


def _start(client: httpx.Client, prompt: str) -> str:
    response = client.post("/runs", json={"input": prompt})
    assert response.status_code == 202, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def _read_frames(client: httpx.Client, url: str, count: int, **headers: str) -> list[Frame]:
    """The first ``count`` event frames, then the connection is closed."""
    frames: list[Frame] = []
    buffer = ""
    with client.stream("GET", url, headers=headers) as response:
        for chunk in response.iter_text():
            buffer += chunk
            *done, buffer = buffer.split("\n\n")
            frames += events_of("\n\n".join(f"{d}\n\n" for d in done if d))
            if len(frames) >= count:
                return frames[:count]
    return frames


def test_tokens_reach_the_client_while_the_run_is_still_going(server: Server) -> None:
    """Live: the first tokens arrive while GET /runs still says running."""
    with server.client() as client:
        run_id = _start(client, "slow")
        frames = _read_frames(client, f"/runs/{run_id}/events", 3)
        assert [f.event for f in frames] == ["llm_start", "new_token", "new_token"]
        state = next(
            r["state"] for r in client.get("/runs").json()["runs"] if r["run_id"] == run_id
        )
        assert state == "running"
        client.post(f"/runs/{run_id}/cancel")


def test_a_client_that_goes_away_does_not_cancel_the_run_and_can_resume(server: Server) -> None:
    """Closing the stream leaves the run going; resuming from the last id gives the rest."""
    with server.client() as client:
        run_id = _start(client, "slow")
        first = _read_frames(client, f"/runs/{run_id}/events", 5)
        time.sleep(0.5)
        rest = events_of(
            client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": first[-1].id or ""}).text
        )
    frames = first + rest
    assert frames[-1].event == "llm_end"
    assert text_of(frames) == SLOW
    assert len({f.id for f in frames}) == len(frames)


def test_a_client_that_never_reads_is_dropped_and_counted_and_others_go_on(
    server: Server,
) -> None:
    """A stalled socket holds a bounded buffer, then is dropped with a last notice;
    a client of another run streams meanwhile, and /stats counts the drop."""
    with server.client() as client:
        big = _start(client, "big")
        before = client.get("/stats").json()["streams"]["dropped"]
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = f"GET /runs/{big}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        stalled.sendall(request.encode())
        try:
            run_id = _start(client, "hello")
            started = time.monotonic()
            frames = events_of(client.get(f"/runs/{run_id}/events").text)
            assert text_of(frames) == FOX
            assert time.monotonic() - started < 5.0, "the stalled client held the others back"
            deadline = time.monotonic() + 10
            # Dropped, and its stream gone from the server: nothing more is held for it.
            while (streams := client.get("/stats").json()["streams"]) != {
                "open": 0,
                "served": streams["served"],
                "dropped": before + 1,
            }:
                assert time.monotonic() < deadline, f"the stalled client was not dropped: {streams}"
                time.sleep(0.1)
        finally:
            stalled.close()


def test_heartbeats_and_the_stream_end_over_a_real_socket(server: Server) -> None:
    """A comment every heartbeat while the model pauses; the response ends after
    the terminal event (the connection closes)."""
    with server.client() as client:
        run_id = _start(client, "pause")
        body = client.get(f"/runs/{run_id}/events").text
    frames = parse_frames(body)
    assert any(f.comment for f in frames)
    assert [f for f in frames if not f.comment][-1].event == "llm_end"
