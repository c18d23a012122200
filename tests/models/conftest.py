"""Fixtures of the model tests: the scripted vendor server (tests/servers/vendor_server.py)."""

from tests.servers.fixtures import vendor_server

__all__ = ["vendor_server"]
