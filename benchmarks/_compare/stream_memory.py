"""Peak memory of ``stream()`` over fresh tokens, against the text it produced
(issue 11.10: within 3 times, with or without ``ResultCollector``).

The provider makes every token as it streams (as a real one does), and the
consumer drops each token, so what stays alive is the library's own: before
the fix the run kept every token as its own ``str`` (~50 bytes of header for a
few characters), about 14 times the text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from _compare.common import Row, interleave
from _compare.system import peak
from streamllm import BaseLLM, GenerationChunk, Request
from streamllm.handlers import ResultCollector


class FreshTokens(BaseLLM):
    """Streams ``n`` tokens, each a new string."""

    count: int = 1000

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        for i in range(self.count):
            yield GenerationChunk(f" t{i % 1000}")


def text_mb(n: int) -> float:
    """Size of the text the run produces, as one ``str``, in MB."""
    return sys.getsizeof("".join(f" t{i % 1000}" for i in range(n))) / 1e6


def rows(n: int, repeat: int) -> list[Row]:
    model = FreshTokens(count=n)

    def bare() -> float:
        return peak(lambda: sum(1 for _ in model.stream("x")))

    def collected() -> float:
        collector = ResultCollector()
        value = peak(lambda: sum(1 for _ in model.stream("x", callbacks=[collector])))
        if len(next(iter(collector.results.values())).text) != len(model.invoke("x")):
            raise AssertionError("the collector lost text")
        return value

    text = text_mb(n)
    times = interleave({"bare": bare, "collector": collected}, repeat)
    label = f"peak memory, stream() of {n:,} fresh tokens"
    return [
        Row(f"{label}, no handler", "MB", times["bare"], "the text", [text], target=3, lower=True),
        Row(
            f"{label}, ResultCollector",
            "MB",
            times["collector"],
            "the text",
            [text],
            target=3,
            lower=True,
        ),
    ]
