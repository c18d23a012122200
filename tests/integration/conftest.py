"""The integration tests' own session fixture: a llama-server that parses tool calls."""

from tests.llama_server import llama_tool_server

__all__ = ["llama_tool_server"]
