"""Fixtures of the web tests (defined in tests/web/servers.py)."""

from tests.web.servers import browser, chat_server, page, proxy, server, token_server

__all__ = ["browser", "chat_server", "page", "proxy", "server", "token_server"]
