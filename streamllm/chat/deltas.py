"""``ChatDelta``: one thing a provider's stream said, in vendor-neutral terms.

The wire parsers (:mod:`streamllm.chat.wire_openai` and friends) turn each
decoded frame into a few deltas; the :class:`~streamllm.chat.assembler.Assembler`
turns deltas into blocks. A light slotted class: one is built per fragment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, final

from streamllm.chat.blocks import BlockKind

__all__ = ["ChatDelta", "DeltaKind", "UsageCounts"]

DeltaKind = Literal[
    "text", "reasoning", "tool", "tool_call", "start", "end", "usage", "finish", "meta"
]

#: Token counts by TokenUsage field name (``prompt_tokens``, ``cache_read_tokens``, ...).
UsageCounts = Mapping[str, int | None]


_REPR_ORDER = (
    "text",
    "index",
    "id",
    "name",
    "signature",
    "block_kind",
    "args",
    "counts",
    "metadata",
)


@final
class ChatDelta:
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
    """

    __slots__ = (
        "args",
        "block_kind",
        "counts",
        "id",
        "index",
        "kind",
        "metadata",
        "name",
        "signature",
        "text",
    )

    def __init__(
        self,
        kind: DeltaKind,
        text: str = "",
        index: int | None = None,
        id: str | None = None,
        name: str | None = None,
        *,
        signature: str | None = None,
        block_kind: BlockKind | None = None,
        args: Mapping[str, Any] | str | None = None,
        counts: UsageCounts | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind: DeltaKind = kind
        self.text = text
        self.index = index
        self.id = id
        self.name = name
        self.signature = signature
        self.block_kind = block_kind
        self.args = args
        self.counts = counts
        self.metadata = metadata

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChatDelta):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = [f"{n}={getattr(self, n)!r}" for n in _REPR_ORDER]
        shown = [s for s in shown if not s.endswith(("=None", "=''"))]
        return f"ChatDelta({self.kind!r}{''.join(', ' + s for s in shown)})"
