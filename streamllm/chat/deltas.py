"""``ChatDelta``: one thing a provider's stream said, in vendor-neutral terms.

The wire parsers (:mod:`streamllm.chat.wire_openai` and friends) turn each
decoded frame into a few deltas; the :class:`~streamllm.chat.assembler.Assembler`
turns deltas into blocks. A named tuple: one is built per fragment, and a
tuple is built for a third of what a ten-slot class's ``__init__`` costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from streamllm.chat.blocks import BlockKind

__all__ = ["ChatDelta", "DeltaKind", "UsageCounts"]

DeltaKind = Literal[
    "text", "reasoning", "tool", "tool_call", "start", "end", "usage", "finish", "meta"
]

#: Token counts by TokenUsage field name (``prompt_tokens``, ``cache_read_tokens``, ...).
UsageCounts = Mapping[str, int | None]


class ChatDelta(NamedTuple):
    """One delta. What each ``kind`` uses:

    - ``"text"``, ``"reasoning"``: ``text``; ``index`` when the vendor numbers
      its blocks (Anthropic), else None (the fragment continues the open block
      of its kind); reasoning may carry a ``signature`` piece.
    - ``"tool"``: a fragment of a call's raw arguments (``text``) by the
      vendor's ``index``; ``id`` and ``name`` in the first fragment.
    - ``"tool_call"``: a whole call (Ollama): ``id`` (may be None), ``name``,
      ``args`` (a dict, or the raw text).
    - ``"start"``: an explicit block start: ``index``, ``block_kind``, ``id``,
      ``name``, optional initial ``text`` and ``signature``.
    - ``"end"``: an explicit block end by ``index`` (None: the open unnumbered block).
    - ``"usage"``: ``counts``; later counts replace earlier ones field by field
      (Anthropic's are cumulative).
    - ``"finish"``: the vendor's finish reason in ``text``; ends every open block.
    - ``"meta"``: the message ``id`` and ``metadata`` (model name...).

    >>> ChatDelta("tool", '{"city": ', 0, "call_1", "weather")
    ChatDelta('tool', text='{"city": ', index=0, id='call_1', name='weather')
    """

    kind: DeltaKind
    text: str = ""
    # Shadows tuple.index(), as LangChain's ToolCallChunk.index does; the name is the wire's.
    index: int | None = None  # type: ignore[assignment]
    id: str | None = None
    name: str | None = None
    signature: str | None = None
    block_kind: BlockKind | None = None
    args: Mapping[str, Any] | str | None = None
    counts: UsageCounts | None = None
    metadata: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        shown = [f"{n}={getattr(self, n)!r}" for n in self._fields[1:]]
        shown = [s for s in shown if not s.endswith(("=None", "=''"))]
        return f"ChatDelta({self.kind!r}{''.join(', ' + s for s in shown)})"
