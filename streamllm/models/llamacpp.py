"""LlamaCpp: a local GGUF model run in-process through llama-cpp-python (extra ``[local]``).

The loading and the generation loop are shared with the chat model
:class:`~streamllm.models.chat_llamacpp.ChatLlamaCpp`
(:mod:`streamllm.models._llamacpp_engine`). llama-cpp-python is imported only
when the model is first loaded, so this module (and ``streamllm.models``)
imports without the extra installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import ClassVar

from streamllm.models._llamacpp_engine import (
    EMBEDDED_MODEL,
    INSTALL_EMBEDDED,
    INSTALL_LOCAL,
    LlamaCppModel,
    embedded_model_path,
)
from streamllm.models.base import BaseLLM
from streamllm.outputs import GenerationChunk
from streamllm.request import Request

__all__ = ["EMBEDDED_MODEL", "INSTALL_EMBEDDED", "INSTALL_LOCAL", "LlamaCpp", "embedded_model_path"]


class LlamaCpp(LlamaCppModel, BaseLLM):
    """A local GGUF model, run in-process by llama.cpp through llama-cpp-python.

    With no ``model_path`` it runs the embedded SmolLM2-135M-Instruct model. The
    model is loaded on first use (once, thread-safely) or by :meth:`load`, and
    shared with every other ``LlamaCpp`` or ``ChatLlamaCpp`` of the same file and
    load settings. By default the input goes through the model's own chat
    template, whether it is a prompt or a list of messages; ``chat=False`` feeds
    a prompt as raw text. Usage is counted with the model's own tokenizer. One
    call runs at a time per loaded model; closing the stream stops generation at
    the next token.

    Needs the ``[local]`` extra: ``pip install 'streamllm[local]'``.

    >>> model = LlamaCpp(max_tokens=16, seed=1, n_threads=1)  # doctest: +SKIP
    >>> for token in model.stream("Tell me a joke."):  # doctest: +SKIP
    ...     print(token, end="", flush=True)
    """

    hidden_params: ClassVar[frozenset[str]] = LlamaCppModel.load_params | {"chat"}

    chat: bool = True

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        return self._chunks(request, None, self.chat)

    def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        return self._achunks(request, self.chat)
