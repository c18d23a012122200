"""Removing secrets from what handlers report (metadata, parameters, messages).

A value is replaced by ``REDACTED`` when its key names a secret (``api_key``,
``authorization``, ``password``, ...) or when the value itself looks like a
credential (``sk-...``, ``Bearer ...``). Keys such as ``max_tokens`` are not
secrets: a *token* count is not an access token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_text"]

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(api[_-]?key|apikey|secret|passw(or)?d|authori[sz]ation|credential|private[_-]?key"
    r"|(access|auth|bearer|id|refresh|session|api)[_-]?token|cookie|x-api-key)",
    re.IGNORECASE,
)
# Credentials that show up as values: OpenAI/Anthropic style keys, bearer
# headers, AWS access key ids, GitHub and Slack tokens.
_SECRET_VALUE = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bBearer\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,})"
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a credential."""
    return _SECRET_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """``text`` with anything that looks like a credential replaced."""
    return _SECRET_VALUE.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secrets replaced, at any depth."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
