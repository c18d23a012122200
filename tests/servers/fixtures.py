"""Loopback servers for the HTTP provider tests, one per session (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.fault_server import FaultServer
from tests.servers.ollama_server import OllamaServer
from tests.servers.vendor_server import VendorServer


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    """The misbehaving OpenAI-compatible server (tests/servers/fault_server.py)."""
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaServer]:
    """The Ollama look-alike (tests/servers/ollama_server.py)."""
    server = OllamaServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vendor_server() -> Iterator[VendorServer]:
    """Scripted chat answers in OpenAI's, Anthropic's and Ollama's wire formats
    (tests/servers/vendor_server.py)."""
    server = VendorServer().start()
    yield server
    server.stop()
