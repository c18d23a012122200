"""ChatLlamaCpp: a local GGUF model as a chat model, in-process through llama-cpp-python.

It runs the same loading and generation as :class:`~streamllm.models.llamacpp.LlamaCpp`
(:mod:`streamllm.models._llamacpp_engine`, one loaded model shared between
them) and streams the answer as one text block: each generated piece a text
delta, then the finish reason and the usage counted with the model's own
tokenizer. Why not llama-cpp-python's ``create_chat_completion(stream=True)``:
its stream carries no usage and takes no stopping criterion, which is how a
closed or cancelled stream stops generating at the next token; it formats the
prompt with the same template (``Jinja2ChatFormatter``) that is applied here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, ClassVar, NoReturn

from streamllm.chat.deltas import ChatDelta
from streamllm.errors import ConfigurationError
from streamllm.models._llamacpp_engine import LlamaCppModel
from streamllm.models.chat import BaseChatModel
from streamllm.outputs import GenerationChunk
from streamllm.request import Request

__all__ = ["ChatLlamaCpp"]


def _deltas(chunk: GenerationChunk) -> list[ChatDelta]:
    if chunk.text:
        return [ChatDelta("text", chunk.text)]
    out: list[ChatDelta] = []
    if chunk.finish_reason:
        out.append(ChatDelta("finish", chunk.finish_reason))
    usage = chunk.usage
    if usage is not None:
        counts = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
        }
        out.append(ChatDelta("usage", counts=counts))
    return out


class ChatLlamaCpp(LlamaCppModel, BaseChatModel):
    """A local GGUF model as a chat model: ``invoke`` returns an ``AIMessage``,
    ``stream`` yields ``AIMessageChunk``\\ s of one text block.

    With no ``model_path`` it runs the embedded SmolLM2-135M-Instruct model,
    through the model's own chat template. Parameters as :class:`LlamaCpp`'s
    (``max_tokens``, ``temperature``, ``top_p``, ``stop``, ``seed``, ``n_ctx``,
    ``n_threads``); the loaded model is shared with every ``LlamaCpp`` or
    ``ChatLlamaCpp`` of the same file and load settings. It cannot be offered
    tools (a small local model does not call them reliably, and llama.cpp's tool
    parsing lives in ``llama-server``: use :class:`ChatOpenAI` against it):
    ``bind_tools`` raises :class:`ConfigurationError`.

    Needs the ``[local]`` extra: ``pip install 'streamllm[local]'``.

    >>> model = ChatLlamaCpp(max_tokens=16, seed=1, n_threads=1)  # doctest: +SKIP
    >>> for chunk in model.stream("Tell me a joke."):  # doctest: +SKIP
    ...     print(chunk.text, end="", flush=True)
    """

    hidden_params: ClassVar[frozenset[str]] = (
        BaseChatModel.hidden_params | LlamaCppModel.load_params
    )
    supports_tools: ClassVar[bool] = False

    def bind_tools(self, tools: Iterable[Any], tool_choice: Any = None) -> NoReturn:
        """Always a :class:`ConfigurationError`: this model cannot take tools."""
        raise ConfigurationError(
            "ChatLlamaCpp cannot be offered tools: the embedded llama.cpp run has no "
            "tool-call parser; serve the model with llama-server (--jinja and a "
            "tool-capable --chat-template-file) and use ChatOpenAI(base_url=...) instead"
        )

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        chunks = self._chunks(request, None, True)
        try:
            for chunk in chunks:
                yield from _deltas(chunk)
        finally:
            chunks.close()  # the model's call lock is free when the stream is

    async def _astream(self, request: Request) -> AsyncIterator[ChatDelta]:
        chunks = self._achunks(request, True)
        try:
            async for chunk in chunks:
                for delta in _deltas(chunk):
                    yield delta
        finally:
            await chunks.aclose()
