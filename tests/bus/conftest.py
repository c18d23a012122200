"""Fixtures of the bus tests: a real redis-server for the session, a three-node
Redis Cluster, and helpers to run the other processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamllm.bus import MemoryBus, RedisBus
from streamllm.bus.base import Bus
from tests.bus.redis_server import RedisServer, start_cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def cluster_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisServer]]:
    servers = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def cluster_url(cluster_servers: list[RedisServer]) -> str:
    from redis.cluster import RedisCluster

    with RedisCluster.from_url(cluster_servers[0].url) as client:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    return cluster_servers[0].url


@pytest.fixture(params=["memory", "redis", "cluster"])
def any_bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    """Each bus behind the one interface (Redis: a single node, and a cluster)."""
    bus: Bus
    if request.param == "memory":
        bus = MemoryBus()
    else:
        bus = RedisBus(request.getfixturevalue(f"{request.param}_url"))
    yield bus
    bus.close()


def spawn(*args: str) -> subprocess.Popen[bytes]:
    """``python -m tests.bus.procs ARGS`` in a new process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bus.procs", *args], cwd=ROOT, env=env,
        stderr=subprocess.PIPE,
    )  # fmt: skip
