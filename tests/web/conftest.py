"""Fixtures of the web tests (defined in tests/web/servers.py)."""

from tests.web.servers import browser, page, proxy, server, token_server

__all__ = ["browser", "page", "proxy", "server", "token_server"]
