"""Stop sequences given per call (``invoke(..., stop=["\\n"])``) and how the fakes honour them.

A per-call ``stop`` replaces the model's own ``stop`` field for that run only:
it goes into the run's request parameters, so every provider sends it the way
it sends the field (OpenAI ``stop``, Anthropic ``stop_sequences``, Ollama
``options.stop``, llama.cpp ``stop``) and ``LLMStart.invocation_params`` shows
it. The fake models cut their scripted text at the first stop sequence, as a
provider stops generating there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamllm._frozen import freeze_mapping
from streamllm.chat.deltas import ChatDelta
from streamllm.errors import ConfigurationError
from streamllm.models._run import Call

__all__ = ["Stop", "check_stop", "cut_at_stop", "cut_deltas", "stop_index", "stopped", "with_stop"]

#: What ``stop=`` takes: one sequence or a list of them (LangChain's ``list[str]``).
Stop = str | Sequence[str]


def check_stop(stop: Any) -> list[str]:
    """``stop`` as a list of non-empty strings, or a :class:`ConfigurationError` naming it."""
    if isinstance(stop, str):
        stop = [stop]
    elif not isinstance(stop, list | tuple) or not all(isinstance(s, str) for s in stop):
        raise ConfigurationError(
            f"stop must be a string or a list of strings, not {_describe(stop)}"
        )
    if any(not s for s in stop):
        raise ConfigurationError("stop sequences must be non-empty strings")
    return list(stop)


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        kinds = sorted({type(v).__name__ for v in value if not isinstance(v, str)})
        return f"a {type(value).__name__} holding {', '.join(kinds)}"
    return type(value).__name__


def with_stop(params: Mapping[str, Any], stop: list[str]) -> dict[str, Any]:
    """The run's parameters with ``stop`` in place of the model's (none for ``[]``), read-only."""
    out = {k: v for k, v in params.items() if k != "stop"}
    if stop:
        out["stop"] = stop
    return freeze_mapping(out, "invocation_params")


def stopped(call: Call[Any], stop: list[str] | None) -> Call[Any]:
    """``call`` with the per-call ``stop`` (checked) in its request's parameters."""
    if stop is not None:
        call.request.params = with_stop(call.request.params, stop)
    return call


def stop_index(text: str, stop: Sequence[str] | None) -> int:
    """Where the first stop sequence in ``text`` begins, or -1."""
    best = -1
    for s in stop or ():
        i = text.find(s)
        if i != -1 and (best == -1 or i < best):
            best = i
    return best


def cut_at_stop(pieces: Sequence[str], stop: Sequence[str] | None) -> list[str]:
    """``pieces`` (tokens adding up to a text) up to the first stop sequence,
    which is left out, as a provider's output ends before it."""
    if not stop:
        return list(pieces)
    end = stop_index("".join(pieces), stop)
    if end == -1:
        return list(pieces)
    out: list[str] = []
    seen = 0
    for piece in pieces:
        if seen + len(piece) >= end:
            if end > seen:
                out.append(piece[: end - seen])
            break
        out.append(piece)
        seen += len(piece)
    return out


def cut_deltas(deltas: Sequence[ChatDelta], stop: Sequence[str]) -> list[ChatDelta]:
    """A chat script's deltas up to the first stop sequence in its text: the text
    is cut there, nothing the model would have written after it is kept (usage
    and message metadata are), and the finish reason becomes ``"stop"``."""
    texts = [d.text if d.kind == "text" else "" for d in deltas]
    end = stop_index("".join(texts), stop)
    if end == -1:
        return list(deltas)
    out: list[ChatDelta] = []
    seen = 0
    cut = False
    for delta, text in zip(deltas, texts, strict=True):
        if cut:
            if delta.kind in ("usage", "meta"):
                out.append(delta)
            continue
        if text and seen + len(text) >= end:
            if end > seen:
                out.append(delta._replace(text=text[: end - seen]))
            cut = True
            continue
        if delta.kind != "finish":
            out.append(delta)
        seen += len(text)
    out.append(ChatDelta("finish", "stop"))
    return out
