"""Run decoded frames through a wire parser and the assembler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from streamllm.chat import AIMessage, AIMessageChunk, Assembler, ChatDelta


def assemble(
    parse: Callable[[Mapping[str, Any]], list[ChatDelta]], frames: list[dict[str, Any]]
) -> tuple[list[AIMessageChunk], AIMessage]:
    asm = Assembler()
    chunks = [asm.chunk(p) for f in frames for d in parse(f) if (p := asm.feed(d))]
    last, message = asm.finish()
    return [*chunks, last], message
