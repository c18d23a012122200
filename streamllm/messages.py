"""Chat messages, the other kind of model input besides a prompt string."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from streamllm.errors import ConfigurationError

__all__ = ["Message", "Role", "to_messages"]

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message: ``Message(role="user", content="Hi")``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


def to_messages(items: Sequence[Message | Mapping[str, Any]]) -> tuple[Message, ...]:
    """Validate a list of messages (``Message`` models or ``{"role", "content"}`` dicts).

    Raises :class:`ConfigurationError` for an empty list, an unknown role or a
    malformed item, naming the item's position.
    """
    if not items:
        raise ConfigurationError("the message list is empty: give at least one message")
    out: list[Message] = []
    for i, item in enumerate(items):
        if isinstance(item, Message):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ConfigurationError(
                f"message {i} is a {type(item).__name__}: expected a Message or a "
                '{"role", "content"} mapping'
            )
        try:
            out.append(Message.model_validate(item))
        except ValidationError as exc:
            role = item.get("role")
            if role is not None and role not in ("system", "user", "assistant"):
                raise ConfigurationError(
                    f"message {i} has the unknown role {role!r}: "
                    "use 'system', 'user' or 'assistant'"
                ) from exc
            raise ConfigurationError(f"message {i} is not a valid message: {exc}") from exc
    return tuple(out)
