"""The errors of tools and structured output.

Both are :class:`~streamllm.errors.StreamLLMError`\\ s. They live here until
``streamllm/errors.py`` holds them (DESIGN.md section 8); the names and
signatures are the ones it will hold, so ``from streamllm.tools import
ToolArgumentsError`` keeps working either way.
"""

from __future__ import annotations

from typing import Any

from streamllm.errors import StreamLLMError

__all__ = ["StructuredOutputError", "ToolArgumentsError"]


class ToolArgumentsError(StreamLLMError, ValueError):
    """A tool was called with arguments that do not validate.

    The message names the tool and each field; ``tool`` is the tool's name and
    ``errors`` pydantic's list of what is wrong (the values are not in it, only
    where and why, so an argument holding a secret does not reach a log).
    """

    def __init__(
        self, message: str, *, tool: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.tool = tool
        self.errors = errors or []


class StructuredOutputError(StreamLLMError):
    """The model's answer does not validate against the schema.

    ``raw`` is the answer as the model wrote it (the tool call's argument
    text, or the message's text when it called no tool).
    """

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw
