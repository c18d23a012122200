"""Real redis-server processes for the bus tests: one per fixture, on a free
127.0.0.1 port, with its own data directory (never the system service)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "start_cluster"]


def free_port(below: int = 65536) -> int:
    """A free port on 127.0.0.1 (``below`` a bound: a cluster node also needs port+10000)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < below:
            return port


def _binary(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None
    )
    if path is None:
        raise RuntimeError(
            f"{name} is not installed: scripts/test.sh installs Debian's redis-server"
        )
    return path


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisServer:
    """One redis-server; ``kill()`` is SIGKILL, ``start()`` brings it back on the same port."""

    def __init__(
        self, directory: Path, *, persist: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(below=55_000 if "--cluster-enabled" in extra else 65_536)
        self.persist = persist
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # With persist, every write is on disk before Redis answers, so a SIGKILL
        # loses nothing that was acknowledged (the restart test relies on it).
        durability = (
            ("--appendonly", "yes", "--appendfsync", "always")
            if self.persist
            else ("--appendonly", "no")
        )
        args = [
            _binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--save", "",
            *durability,
            "--daemonize", "no",
            "--protected-mode", "no",
            "--logfile", str(self.dir / "redis.log"),
            *self.extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{log}")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_cluster(directory: Path, nodes: int = 3) -> list[RedisServer]:
    """``nodes`` masters joined with ``redis-cli --cluster create``, slots covered."""
    servers = []
    for i in range(nodes):
        extra = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", "2000")  # fmt: skip
        servers.append(RedisServer(directory / f"node{i}", extra=extra).start())
    addresses = [f"127.0.0.1:{s.port}" for s in servers]
    subprocess.run(
        [_binary("redis-cli"), "--cluster", "create", *addresses, "--cluster-replicas", "0",
         "--cluster-yes"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        states = [
            subprocess.run(
                [_binary("redis-cli"), "-p", str(s.port), "cluster", "info"],
                capture_output=True, text=True, timeout=5,
            ).stdout
            for s in servers
        ]  # fmt: skip
        if all("cluster_state:ok" in s for s in states):
            return servers
        if time.monotonic() > deadline:
            raise RuntimeError(f"cluster did not come up: {states}")
        time.sleep(0.1)
