"""TokenCounter: model-token usage per model and overall, with provenance and cost."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Literal, NamedTuple

from streamllm.callbacks.base import CallbackHandler
from streamllm.events import LLMEnd, LLMError
from streamllm.outputs import TokenUsage

__all__ = ["DEFAULT_PRICES", "Price", "TokenCounter"]

Source = Literal["provider", "estimated"]


class Price(NamedTuple):
    """USD per million tokens: ``Price(input=0.15, output=0.60)``.

    ``cache_read`` / ``cache_write``: the price of prompt tokens read from or
    written to the provider's prompt cache (``None``: billed as ``input``).
    Reasoning tokens are part of the completion and billed as ``output``.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


#: Public list prices in USD per million tokens (input, output), as published by
#: the vendors in 2025. Prices change: pass your own table to be exact.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o": Price(2.50, 10.00, cache_read=1.25),
    "gpt-4o-mini": Price(0.15, 0.60, cache_read=0.075),
    "gpt-4.1": Price(2.00, 8.00, cache_read=0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, cache_read=0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, cache_read=0.025),
    "gpt-3.5-turbo-instruct": Price(1.50, 2.00),
    "claude-3-5-haiku": Price(0.80, 4.00, cache_read=0.08, cache_write=1.00),
    "claude-3-5-sonnet": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
    "claude-3-7-sonnet": Price(3.00, 15.00, cache_read=0.30, cache_write=3.75),
}


def _zero(source: Source) -> TokenUsage:
    return TokenUsage.of(0, 0, source)


def _sum(parts: list[TokenUsage], source: Source) -> TokenUsage:
    # Summed from the first part, not from a zero: a zero would make the
    # detail counts (cache, reasoning) unknown even when every run reported them.
    return TokenUsage.total(parts) or _zero(source)


def _cost(usage: TokenUsage, price: Price) -> float | None:
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    if prompt is None or completion is None:
        return None
    usd = completion * price.output
    # Cached prompt tokens are part of prompt_tokens; priced apart only when
    # both the count and the price are known, else billed as plain input.
    for count, rate in (
        (usage.cache_read_tokens, price.cache_read),
        (usage.cache_write_tokens, price.cache_write),
    ):
        if count and rate is not None:
            usd += count * rate
            prompt -= count
    return (usd + max(prompt, 0) * price.input) / 1_000_000


class TokenCounter(CallbackHandler):
    """Counts prompt, completion and total tokens per model and overall.

    Every run that ends is counted once, from its ``LLMEnd`` usage; a run that
    fails or is abandoned is counted from its partial usage (the tokens it
    consumed before it stopped). Provider-reported counts and estimates are
    kept apart:

    - ``totals``: everything (``source="estimated"`` if any part was estimated);
    - ``provider_totals`` / ``estimated_totals``: the two kinds separately;
    - ``by_model``: model name to its ``TokenUsage``;
    - ``cost``: USD from the price table, or ``None`` when a counted model has
      no price (or a count is unknown); ``cost_by_model`` per model.

    ``prices`` maps model names to :class:`Price` (or ``(input, output)``
    pairs) in USD per million tokens and extends :data:`DEFAULT_PRICES`
    (``extend_defaults=False`` uses yours alone). A model named
    ``gpt-4o-mini-2024-07-18`` takes the price of ``gpt-4o-mini``: the longest
    table entry it starts with, followed by ``-``.

    Safe from many threads (``batch``) and many tasks (``astream``): the
    handler is synchronous, so in async code it runs inline on the loop.

    >>> from streamllm import FakeListLLM, TokenUsage
    >>> from streamllm.handlers import TokenCounter
    >>> counter = TokenCounter(prices={"fake": (1.0, 2.0)})
    >>> model = FakeListLLM(responses=["Hi"], usage=TokenUsage.of(3, 1))
    >>> _ = model.batch(["a", "b"], callbacks=[counter])
    >>> counter.totals.total_tokens, counter.cost
    (8, 1e-05)
    """

    def __init__(
        self,
        prices: Mapping[str, Price | tuple[float, float]] | None = None,
        *,
        extend_defaults: bool = True,
    ) -> None:
        table = dict(DEFAULT_PRICES) if extend_defaults else {}
        for name, price in (prices or {}).items():
            table[name] = Price(*price)
        self.prices: dict[str, Price] = table
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, Source], TokenUsage] = {}
        self._runs = 0

    # -- counting ------------------------------------------------------------

    def _add(self, model: str | None, usage: TokenUsage | None) -> None:
        if usage is None:
            return
        key = (model or "unknown", usage.source)
        with self._lock:
            old = self._by_key.get(key)
            self._by_key[key] = usage if old is None else old + usage
            self._runs += 1

    def on_llm_end(self, event: LLMEnd) -> None:
        self._add(event.result.model, event.result.usage)

    def on_llm_error(self, event: LLMError) -> None:
        self._add(event.partial.model, event.partial.usage)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._by_key.clear()
            self._runs = 0

    # -- reading ---------------------------------------------------------------

    def _snapshot(self) -> dict[tuple[str, Source], TokenUsage]:
        with self._lock:
            return dict(self._by_key)

    @property
    def runs(self) -> int:
        """How many runs reported usage."""
        with self._lock:
            return self._runs

    @property
    def totals(self) -> TokenUsage:
        """All usage; ``source`` is ``"estimated"`` if any part was estimated."""
        return _sum(list(self._snapshot().values()), "provider")

    @property
    def provider_totals(self) -> TokenUsage:
        """Only the counts providers reported."""
        parts = [u for (_, s), u in self._snapshot().items() if s == "provider"]
        return _sum(parts, "provider")

    @property
    def estimated_totals(self) -> TokenUsage:
        """Only the counts streamllm estimated (the provider reported none)."""
        parts = [u for (_, s), u in self._snapshot().items() if s == "estimated"]
        return _sum(parts, "estimated")

    @property
    def by_model(self) -> dict[str, TokenUsage]:
        """Model name to its usage (both kinds summed)."""
        out: dict[str, TokenUsage] = {}
        for (model, _), usage in sorted(self._snapshot().items()):
            old = out.get(model)
            out[model] = usage if old is None else old + usage
        return out

    def price_of(self, model: str) -> Price | None:
        """The price table entry for ``model``, or ``None``."""
        price = self.prices.get(model)
        if price is not None:
            return price
        best = max(
            (name for name in self.prices if model.startswith(name + "-")),
            key=len,
            default=None,
        )
        return None if best is None else self.prices[best]

    @property
    def cost_by_model(self) -> dict[str, float | None]:
        """Model name to USD; ``None`` for a model with no price or unknown counts."""
        out: dict[str, float | None] = {}
        for model, usage in self.by_model.items():
            price = self.price_of(model)
            out[model] = None if price is None else _cost(usage, price)
        return out

    @property
    def cost(self) -> float | None:
        """Total USD, or ``None`` when any counted model's cost is unknown."""
        total = 0.0
        for cost in self.cost_by_model.values():
            if cost is None:
                return None
            total += cost
        return total
