"""What a model call is asked (:class:`Request`) and what it leaves behind (:class:`Outcome`).

A ground-floor module: providers, the run drivers and the batch machinery all
speak these two types, so none of them has to import another to share them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, final
from uuid import UUID

from pydantic import BaseModel

from streamllm._fast import all_fields, trusted
from streamllm.chat.tools_schema import ToolChoice, ToolSpec
from streamllm.messages import Message
from streamllm.outputs import (
    Generation,
    GenerationChunk,
    LLMResult,
    TokenUsage,
    normalize_finish_reason,
)

__all__ = ["Outcome", "Request", "estimated_usage"]

M = TypeVar("M", bound=BaseModel)


def _maker(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """Builds trusted instances of ``cls`` from the values the library computed,
    every other field at its default (so a field added to ``cls`` later is set)."""
    defaults = {
        name: field.get_default(call_default_factory=True)
        for name, field in cls.model_fields.items()
        if not field.is_required()
    }
    fields = all_fields(cls)
    order = tuple(cls.model_fields)

    def make(data: dict[str, Any]) -> M:
        # In field order, as validation would leave them (dumps compare equal).
        return trusted(
            cls, {name: data[name] if name in data else defaults[name] for name in order}, fields
        )

    return make


_generation = _maker(Generation)
_result = _maker(LLMResult)
_usage = _maker(TokenUsage)

# Tokens kept as separate strings before they are joined into one block: a
# short str costs ~50 bytes of object header, so a million one-word tokens
# held apart cost ~14 times their text. Joined per block, the outcome costs
# about the text itself, and joining a block is far cheaper than rejoining all.
BLOCK = 512


@final
class Request:
    """What a provider is asked: the input and the call's parameters.

    ``retries`` is for the provider to count the retries it made; the result
    records it. ``params`` holds the generation parameters that are set;
    ``tools`` and ``tool_choice`` the tools a chat model offers (see
    ``BaseChatModel.bind_tools``), kept out of ``params`` because tool
    definitions are content, which handlers see only when asked.
    """

    __slots__ = ("messages", "params", "prompt", "retries", "tool_choice", "tools")

    def __init__(
        self,
        prompt: str | None,
        messages: tuple[Message, ...] | None,
        params: dict[str, Any],
        tools: tuple[ToolSpec, ...] = (),
        tool_choice: ToolChoice | None = None,
    ) -> None:
        self.prompt = prompt
        self.messages = messages
        self.params = params
        self.tools = tools
        self.tool_choice = tool_choice
        self.retries = 0

    def as_messages(self) -> tuple[Message, ...]:
        """The input as chat messages (a prompt becomes one user message)."""
        if self.messages is not None:
            return self.messages
        return (Message(role="user", content=self.prompt or ""),)

    def as_prompt(self) -> str:
        """The input as one prompt string (messages are joined, one per line)."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(
            m.text if m.role == "user" else f"{m.role}: {m.text}" for m in self.messages or ()
        )

    def input_text(self) -> str:
        """The whole input as text, for estimating its tokens."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(m.text for m in self.messages or ())


class Outcome:
    """One run's output so far: its text, finish reason, usage and, once it
    ended well, its result. (A chat run's outcome, in the models layer, adds
    its message.)

    While a run streams, the drivers keep its text themselves (joined in
    blocks, see ``models/_run.py``) and leave it here as the one item of
    ``texts`` when the run ends, so :attr:`text` returns it without a copy.
    """

    __slots__ = ("finish_reason", "result", "texts", "usage")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None
        self.result: LLMResult | None = None

    def note(self, chunk: GenerationChunk) -> None:
        """Keep a chunk's finish reason and usage (the drivers call this only
        for chunks that carry one)."""
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage

    def output(self) -> Any:
        """What ``invoke`` returns for this run: its text."""
        return self.text

    @property
    def text(self) -> str:
        """The text produced so far (one item's join returns that very str)."""
        return "".join(self.texts)

    def build(
        self,
        model: str,
        run_id: UUID,
        request: Request,
        estimate: Callable[[str], TokenUsage],
    ) -> LLMResult:
        """The :class:`LLMResult` of this outcome (usage estimated when the
        provider reported none)."""
        text = self.text
        usage = self.usage
        if usage is None:
            usage = estimate(text)
        finish = self.finish_reason
        generation = _generation(
            {
                "text": text,
                "finish_reason": normalize_finish_reason(finish),
                "provider_finish_reason": finish,
            }
        )
        return _result(
            {
                "generations": ((generation,),),
                "usage": usage,
                "model": model,
                "run_ids": (run_id,),
                "retries": request.retries,
            }
        )


def estimated_usage(prompt_tokens: int | None, completion_tokens: int | None) -> TokenUsage:
    """A usage marked ``"estimated"``, its total summed when both parts are known."""
    total = (
        None
        if prompt_tokens is None or completion_tokens is None
        else prompt_tokens + completion_tokens
    )
    return _usage(
        {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total,
            "source": "estimated",
        }
    )
