"""The page in a real Chromium: streaming, Stop, a cut connection, hostile output, the token.

Each test saves a screenshot of the state it checked under its tmp_path.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from streamllm.events import NewToken, parse_event
from streamllm.web.sse import sse_frame
from tests.web.apps import ANSWER, FOX, SLOW, TOOL_ARGS, XSS
from tests.web.apps import REASONING as REASONING_E2E
from tests.web.servers import TOKEN, Proxy, Server
from tests.web.sse import events_of

# Records every length the answer had, to tell streaming from a text set at once.
_WATCH_LENGTHS = """() => {
  window.__lengths = [];
  new MutationObserver(() => {
    const a = document.querySelector('.answer');
    if (a) window.__lengths.push(a.textContent.length);
  }).observe(document.getElementById('blocks'),
             {subtree: true, childList: true, characterData: true});
}"""


def _run(page: Any, prompt: str) -> str:
    page.fill("#prompt", prompt)
    page.click("#run")
    page.wait_for_selector('#state[data-state="running"]')
    run_text: str = page.text_content("#run-id") or ""
    return run_text.removeprefix("run ")


def _run_id(server: Server, prefix: str) -> str:
    with server.client() as client:
        runs = client.get("/runs").json()["runs"]
    return next(r["run_id"] for r in runs if r["run_id"].startswith(prefix))


def _answer(page: Any) -> str:
    return str(page.eval_on_selector_all(".answer", "els => els.map(e => e.textContent).join('')"))


def _shot(page: Any, path: Path, name: str) -> Path:
    file = path / f"{name}.png"
    # Bytes, written here: Playwright's path= writes through a thread pool of its own.
    file.write_bytes(page.screenshot(full_page=True))
    return file


def test_text_streams_into_the_page_with_live_figures(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """The answer grows token by token; then the live panel shows the figures."""
    page.goto(server.url)
    page.evaluate(_WATCH_LENGTHS)
    _run(page, "hello there")
    page.wait_for_selector('#state[data-state="done"]')
    assert _answer(page) == FOX
    lengths = page.evaluate("window.__lengths")
    assert len(set(lengths)) > 10, "the text arrived at once, not streamed"
    assert (page.text_content("#ttft") or "").endswith("ms")
    assert float(page.text_content("#tps") or "0") > 0
    assert page.text_content("#usage-source") == "estimated"
    assert page.text_content("#finish") == "stop"
    page.wait_for_selector("#runs li")
    assert "hello there" in (page.text_content("#runs") or "")
    shot = _shot(page, tmp_path, "streamed")
    if Path("/tmp/coord").is_dir():  # the README's screenshot, for the lead
        shutil.copy(shot, "/tmp/coord/web.png")


def test_stop_ends_the_run_as_cancelled_on_the_server(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """The Stop button cancels the run; the server's terminal event says cancelled."""
    page.goto(server.url)
    prefix = _run(page, "slow please")
    page.wait_for_function("() => document.querySelector('.answer')?.textContent.length > 10")
    page.click("#stop")
    page.wait_for_selector('#state[data-state="cancelled"]')
    _shot(page, tmp_path, "stopped")
    run_id = _run_id(server, prefix)
    with server.client() as client:
        frames = events_of(client.get(f"/runs/{run_id}/events").text)
    assert frames[-1].event == "llm_error"
    assert frames[-1].data["reason"] == "cancelled"
    shown = _answer(page)
    assert shown == "".join(f.data["token"] for f in frames if f.event == "new_token")
    assert SLOW.startswith(shown)
    assert shown != SLOW


def test_a_cut_connection_resumes_with_the_exact_text_once(
    page: Any, proxy: Proxy, server: Server, tmp_path: Path
) -> None:
    """The stream breaks mid-answer and the network is down for a while; once it is
    back, the page resumes from its last event id: nothing missing, nothing twice."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
    page.goto(proxy.url)
    _run(page, "slow but sure")
    page.wait_for_function("() => document.querySelector('.answer')?.textContent.length > 20")
    page.context.set_offline(True)
    proxy.cut()
    page.wait_for_selector('#conn[data-state="reconnecting"]')
    _shot(page, tmp_path, "reconnecting")
    time.sleep(1.0)
    page.context.set_offline(False)
    page.wait_for_selector('#state[data-state="done"]', timeout=20_000)
    _shot(page, tmp_path, "resumed")
    assert _answer(page) == SLOW
    assert len(requests) >= 2, "the page never reconnected"


def test_model_output_that_looks_like_html_is_shown_as_text_and_runs_nothing(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """An answer with <img onerror> and <script> is text; no element, no script."""
    page.goto(server.url)
    _run(page, 'xss <img src=x onerror="window.__pwned=3"><b>bold</b>')
    page.wait_for_selector('#state[data-state="done"]')
    assert _answer(page) == XSS
    assert page.evaluate("window.__pwned") is None
    assert (
        page.eval_on_selector_all(
            "#blocks img, #blocks script, #runs img, #runs b", "e => e.length"
        )
        == 0
    )
    page.wait_for_selector("#runs li")
    assert '<img src=x onerror="window.__pwned=3"><b>bold</b>' in (page.text_content("#runs") or "")
    _shot(page, tmp_path, "hostile-output")


def test_with_a_token_the_page_without_it_is_refused(
    page: Any, token_server: Server, tmp_path: Path
) -> None:
    """The page asks for the token; declined, every request is refused and nothing
    runs. Given once, it is kept for the tab and the page works."""
    page.goto(token_server.url)
    page.wait_for_selector("#token-dialog[open]")
    _shot(page, tmp_path, "token-asked")
    page.click("#token-cancel")
    page.wait_for_selector('#conn[data-state="refused"]')
    _shot(page, tmp_path, "token-refused")
    with token_server.client() as client:
        assert client.get("/runs").json()["runs"] == []

    page.reload()
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", TOKEN)
    page.click("#token-ok")
    _run(page, "hello")
    page.wait_for_selector('#state[data-state="done"]')
    assert _answer(page) == FOX
    page.reload()  # asked once: the tab keeps it
    page.wait_for_selector("#runs li")
    assert page.evaluate("document.getElementById('token-dialog').open") is False


def test_a_recent_run_reopens_replayed_from_the_bus(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """Clicking a run in the list replays it from the bus: its prompt and exact text."""
    page.goto(server.url)
    _run(page, "hello again")
    page.wait_for_selector('#state[data-state="done"]')
    _run(page, "xss now")
    page.wait_for_selector('#state[data-state="done"]')
    page.click('#runs li:has-text("hello again")')
    page.wait_for_function(
        "() => document.getElementById('asked-text').textContent === 'hello again'"
    )
    page.wait_for_selector('#state[data-state="done"]')
    assert _answer(page) == FOX
    _shot(page, tmp_path, "reopened")


def _chat_frames(run_id: str) -> str:
    """A chat answer's events as the server frames them: reasoning, a tool call, text."""
    common = {"run_id": run_id, "trace_id": run_id, "time": 100.0, "monotonic": 1.0, "name": "chat"}
    bodies: list[dict[str, Any]] = [
        {"type": "llm_start", "model": "fake-chat", "prompt": "Weather in Oslo?"},
        {"type": "block_start", "block": 0, "kind": "reasoning"},
        *(
            {"type": "block_delta", "block": 0, "kind": "reasoning", "delta": d}
            for d in ["The user wants ", "the weather; ", "I should call the tool."]
        ),
        {"type": "block_end", "block": 0, "content": {"type": "reasoning", "text": REASONING}},
        {
            "type": "block_start",
            "block": 1,
            "kind": "tool_call",
            "id": "call_7",
            "tool_name": "get_weather",
        },
        *(
            {"type": "block_delta", "block": 1, "kind": "tool_call", "delta": d}
            for d in ['{"city": "Os', 'lo", "unit": ', '"celsius"}']
        ),
        {
            "type": "block_end",
            "block": 1,
            "content": {
                "type": "tool_call",
                "id": "call_7",
                "name": "get_weather",
                "args": {"city": "Oslo", "unit": "celsius"},
            },
        },
        {"type": "block_start", "block": 2, "kind": "text"},
        *(
            {"type": "new_token", "token": t, "index": i, "block": 2}
            for i, t in enumerate(["Checking", " now."])
        ),
        {"type": "block_end", "block": 2, "content": {"type": "text", "text": "Checking now."}},
        {
            "type": "llm_end",
            "result": {
                "generations": [[{"text": "Checking now.", "finish_reason": "tool_calls"}]],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 30,
                    "total_tokens": 42,
                    "source": "provider",
                },
            },
        },
    ]
    if "block" not in NewToken.model_fields:  # until text tokens carry their block
        bodies = [
            {k: v for k, v in b.items() if k != "block" or b["type"] != "new_token"} for b in bodies
        ]
    frames = []
    for seq, body in enumerate(bodies):
        event = parse_event({**common, "seq": seq, "time": 100.0 + seq * 0.05, **body})
        frames.append(sse_frame(event.model_dump_json(), event=event.type, id=f"1-{seq}").decode())
    return "".join(frames)


REASONING = "The user wants the weather; I should call the tool."


def test_reasoning_and_a_tool_call_show_where_they_belong(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """Block events: reasoning in its collapsible panel, the tool call with its
    arguments, the text below, provider usage in the live panel."""
    run_id = "7d0c1f3e-2b9a-4c1e-9a55-0b6f5e1c2d3a"
    page.route(
        "**/runs",
        lambda route: (
            route.fulfill(
                status=202,
                json={"run_id": run_id, "trace_id": run_id, "events_url": f"/runs/{run_id}/events"},
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.route(
        f"**/runs/{run_id}/events",
        lambda route: route.fulfill(
            status=200, headers={"content-type": "text/event-stream"}, body=_chat_frames(run_id)
        ),
    )
    page.goto(server.url)
    page.fill("#prompt", "Weather in Oslo?")
    page.click("#run")
    page.wait_for_selector('#state[data-state="done"]')
    reasoning = page.locator("details.reasoning")
    assert reasoning.locator(".body").text_content() == REASONING
    assert "Reasoning · 51 characters" in (reasoning.locator("summary").text_content() or "")
    tool = page.locator(".tool")
    assert tool.locator(".name").text_content() == "get_weather"
    args = tool.locator("pre").first.text_content() or ""
    assert json.loads(args) == {"city": "Oslo", "unit": "celsius"}
    assert tool.locator(".badge").text_content() == "call call_7"
    assert _answer(page) == "Checking now."
    order = page.eval_on_selector_all("#blocks > *", "els => els.map(e => e.className)")
    assert order == ["reasoning", "tool", "answer"]
    assert page.text_content("#usage-source") == "provider"
    assert page.text_content("#u-total") == "42"
    assert page.text_content("#finish") == "tool_calls"
    page.click("details.reasoning summary")  # collapsed at its end; open it for the picture
    _shot(page, tmp_path, "reasoning-and-tool")


# Records every length each tool call's arguments had, to see them grow.
_WATCH_ARGS = """() => {
  window.__args = [];
  new MutationObserver(() => {
    const pre = document.querySelector('.tool pre');
    if (pre) window.__args.push(pre.textContent.length);
  }).observe(document.getElementById('blocks'),
             {subtree: true, childList: true, characterData: true});
}"""


def test_a_chat_model_streams_reasoning_a_tool_call_and_text_end_to_end(
    page: Any, chat_server: Server, tmp_path: Path
) -> None:
    """A FakeChatModel on the server: reasoning fills its collapsible panel, the
    tool call's arguments grow fragment by fragment, the text streams below."""
    page.goto(chat_server.url)
    page.evaluate(_WATCH_ARGS)
    page.fill("#prompt", "What is the weather in Oslo?")
    page.click("#run")
    page.wait_for_selector("details.reasoning")
    page.wait_for_selector('#state[data-state="done"]', timeout=20_000)
    assert page.locator("details.reasoning .body").text_content() == REASONING_E2E
    tool = page.locator(".tool")
    assert tool.locator(".name").text_content() == "get_weather"
    assert json.loads(tool.locator("pre").first.text_content() or "") == TOOL_ARGS
    assert tool.locator(".badge").text_content() == "call call_oslo"
    grew = page.evaluate("window.__args")
    assert len(set(grew)) > 3, "the arguments did not stream"
    assert _answer(page) == ANSWER
    order = page.eval_on_selector_all("#blocks > *", "els => els.map(e => e.className)")
    assert order == ["reasoning", "answer", "tool"]
    assert page.text_content("#usage-source") == "provider"
    assert page.text_content("#u-total") == "69"
    assert page.text_content("#finish") == "tool_calls"
    page.click("details.reasoning summary")  # collapsed at its end; open for the picture
    shot = _shot(page, tmp_path, "chat-end-to-end")
    if Path("/tmp/coord").is_dir():
        shutil.copy(shot, "/tmp/coord/web-chat.png")
    page.emulate_media(color_scheme="dark")
    _shot(page, tmp_path, "chat-end-to-end-dark")


def test_a_reload_mid_answer_reopens_the_run_and_ends_with_the_exact_text(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """The run is in the address: reloading replays what came and follows the rest."""
    page.goto(server.url)
    _run(page, "slow reload")
    page.wait_for_function("() => document.querySelector('.answer')?.textContent.length > 20")
    page.reload()
    page.wait_for_selector('#state[data-state="done"]', timeout=20_000)
    assert _answer(page) == SLOW
    assert page.text_content("#asked-text") == "slow reload"
    _shot(page, tmp_path, "reloaded")
