"""rediss://: the bus over TLS, against a redis-server with a certificate made here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamllm.bus import BusError, BusPublisher, RedisBus
from streamllm.events import BaseEvent
from streamllm.models import FakeListLLM
from tests.bus.redis_server import RedisServer, free_port


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, int, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    extra = ("--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
             "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no")  # fmt: skip
    server = RedisServer(tmp / "data", extra=extra).start()
    yield server, port, cert
    server.stop()


def test_rediss_carries_a_run(tls_server: tuple[RedisServer, int, Path]) -> None:
    """A run published over rediss:// reads back the same, over TLS."""
    _, port, cert = tls_server
    bus = RedisBus(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    seen: list[BaseEvent] = []
    publisher = BusPublisher(bus)
    FakeListLLM(responses=["over tls"]).invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    assert [e for _, e in bus.read(seen[0].trace_id)] == seen
    assert bus.client.connection_pool.connection_class.__name__ == "SSLConnection"
    bus.close()


def test_rediss_with_an_untrusted_certificate_is_a_bus_error(
    tls_server: tuple[RedisServer, int, Path],
) -> None:
    """The server's certificate is checked: one nobody vouches for is refused."""
    _, port, _ = tls_server
    with pytest.raises(BusError, match=r"rediss://127\.0\.0\.1"):
        RedisBus(f"rediss://127.0.0.1:{port}/0", connect_timeout=2).ping()
