"""Real components for the web tests: uvicorn processes, a cuttable proxy, Chromium.

Each server is a ``python -m uvicorn`` child on a free 127.0.0.1 port running
tests/web/apps.py:make_app; the browser is Debian's Chromium driven by
Playwright through ``executable_path`` (nothing is downloaded).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STREAMLLM_CHROMIUM", "/usr/bin/chromium")
TOKEN = "web-test-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=10.0)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_server(
    tmp: Path, token: str | None, bus: str | None = None, factory: str = "make_app"
) -> Generator[Server, None, None]:
    """Run a uvicorn process until the generator is closed (a fixture's body)."""
    port = free_port()
    env = {**os.environ, "STREAMLLM_WEB_TOKEN": token or "", "STREAMLLM_WEB_BUS": bus or ""}
    log = tmp / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", f"tests.web.apps:{factory}",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", port, token)
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=1.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited:\n{log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{server.url}/").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.05)
        yield server
    finally:
        _stop(process)
        text = log.read_text(errors="replace")
        # The server never prints a traceback, whatever the tests threw at it.
        assert "Traceback" not in text, text[-3000:]


def serve_command(*args: str) -> Generator[str, None, None]:
    """Run ``streamllm serve --provider fake ARGS`` until closed; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamllm", "serve", "--provider", "fake", "--delay", "0",
         "--port", str(port), *args],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "streamllm serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
        assert b"Traceback" not in err, err.decode()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A uvicorn process serving the scripted model, no token."""
    yield from start_server(tmp_path_factory.mktemp("web"), None)


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A uvicorn process that needs ``Authorization: Bearer web-test-token``."""
    yield from start_server(tmp_path_factory.mktemp("web-token"), TOKEN)


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A uvicorn process serving a FakeChatModel (reasoning, text, a tool call)."""
    yield from start_server(tmp_path_factory.mktemp("web-chat"), None, factory="make_chat_app")


@dataclass(frozen=True)
class Proxy:
    url: str
    process: subprocess.Popen[bytes]

    def cut(self) -> None:
        """Drop every connection through the proxy, as a network failure would."""
        self.process.send_signal(signal.SIGUSR1)


@pytest.fixture(scope="session")
def proxy(server: Server) -> Iterator[Proxy]:
    """A TCP proxy in front of ``server`` whose connections the test can cut."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "proxy.py"), str(port), str(server.port)],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        yield Proxy(f"http://127.0.0.1:{port}", process)
    finally:
        _stop(process)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) under Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/test.sh installs Debian's)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own storage) and page; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors
