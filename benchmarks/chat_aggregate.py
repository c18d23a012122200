"""Chat chunks adding up: memory and time of ``sum(chunks)`` over a 10,000-fragment message.

Prints the memory of the aggregate as a multiple of the size of the message's
text and arguments (UTF-8 bytes; the issue's bound is 3x), the time of
``sum(chunks)`` against the quadratic ``str + str`` way, and the per-delta
cost of the assembler and of the OpenAI wire parser (the driver's hot path
before the events).

    python benchmarks/chat_aggregate.py                      # 10,000 fragments
    python benchmarks/chat_aggregate.py --fragments 1000 --repeat 1   # smoke size
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import platform
import time
import tracemalloc
from collections.abc import Callable
from typing import final

from streamllm.chat import AIMessage, AIMessageChunk, Assembler, ChatDelta
from streamllm.chat.wire_openai import openai_deltas

WORDS = ("The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. ", "Ünï ")


def script(n: int) -> list[ChatDelta]:
    """n fragments: 70% text of about one token each, 30% arguments of three parallel calls."""
    n_text = n * 7 // 10
    out = [ChatDelta("text", WORDS[i % len(WORDS)]) for i in range(n_text)]
    args = [json.dumps({"query": " ".join(WORDS) * (n // 300 + 1), "n": i}) for i in range(3)]
    per_call = (n - n_text) // 3
    for i in range(per_call):
        for call in range(3):
            text = args[call]
            size = -(-len(text) // per_call)
            piece = text[i * size : (i + 1) * size]
            first = i == 0
            out.append(
                ChatDelta(
                    "tool",
                    piece,
                    call,
                    f"call_{call}" if first else None,
                    "search" if first else None,
                )
            )
    return out


def stream(deltas: list[ChatDelta]) -> list[AIMessageChunk]:
    asm = Assembler()
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas) if p]
    chunks.append(asm.finish()[0])
    return chunks


def feed_and_yield(deltas: list[ChatDelta]) -> None:
    """What stream() adds per delta: the pieces and a chunk the consumer drops."""
    asm = Assembler()
    feed, chunk = asm.feed, asm.chunk
    for d in deltas:
        pieces = feed(d)
        if pieces:
            chunk(pieces)
    asm.finish()


def feed_only(deltas: list[ChatDelta]) -> None:
    asm = Assembler()
    feed = asm.feed
    for d in deltas:
        feed(d)
    asm.finish()


def content_size(chunks: list[AIMessageChunk]) -> int:
    return sum(len(p.text.encode()) for c in chunks for p in c.pieces)


def memory(fn: Callable[[], object]) -> tuple[int, int]:
    """(peak, retained) bytes allocated by fn, beyond what existed before."""
    gc.collect()
    tracemalloc.start()
    result = fn()
    retained = tracemalloc.get_traced_memory()[0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak, retained


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def aggregate(chunks: list[AIMessageChunk]) -> AIMessage:
    total = sum(chunks)
    assert isinstance(total, AIMessageChunk)
    return total.to_message()


def naive(chunks: list[AIMessageChunk]) -> dict[int, str]:
    """What ``chunk + chunk`` costs when it concatenates strings (LangChain's way)."""
    acc: dict[int, str] = {}
    for c in chunks:
        for p in c.pieces:
            acc[p.block] = acc.get(p.block, "") + p.text
            acc = dict(acc)  # a new chunk object per addition, as an immutable chunk must
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fragments", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    deltas = script(opts.fragments)
    chunks = stream(deltas)
    size = content_size(chunks)
    message = aggregate(chunks)
    assert len(message.content_blocks) == 4, message.content_blocks

    print(
        f"python {platform.python_version()}, {len(deltas)} fragments, {len(chunks)} chunks, "
        f"text+arguments {size:,} bytes (UTF-8)"
    )
    for label, fn in (
        ("sum(chunks)", lambda: sum(chunks)),
        ("sum(chunks).to_message()", functools.partial(aggregate, chunks)),
    ):
        peak, kept = memory(fn)
        print(
            f"{label}: retained {kept:,} B = {kept / size:.2f}x, "
            f"peak {peak:,} B = {peak / size:.2f}x the text+arguments (bound: 3x)"
        )

    for scale in (1, 4):
        many = chunks * scale
        t_sum = best(functools.partial(aggregate, many), opts.repeat)
        t_naive = best(functools.partial(naive, many), opts.repeat)
        print(
            f"{len(many)} chunks: sum(chunks).to_message() {t_sum * 1e3:.1f} ms, "
            f"str + str per chunk {t_naive * 1e3:.1f} ms"
        )

    n = len(deltas)
    t_feed = best(functools.partial(feed_and_yield, deltas), opts.repeat)
    print(f"Assembler.feed + chunk: {t_feed / n * 1e6:.3f} us per delta (stream, chunks dropped)")
    t_only = best(functools.partial(feed_only, deltas), opts.repeat)
    print(f"Assembler.feed alone: {t_only / n * 1e6:.3f} us per delta (invoke, events only)")
    frames = [{"id": "x", "choices": [{"index": 0, "delta": {"content": d.text}}]} for d in deltas]
    t_wire = best(lambda: [openai_deltas(f) for f in frames], opts.repeat)
    print(f"openai_deltas: {t_wire / n * 1e6:.3f} us per frame")
    t_base = best(lambda: [_Two(d, d) for d in deltas], opts.repeat)
    print(f"machine baseline: {t_base / n * 1e6:.3f} us to build one 2-slot object")


@final
class _Two:
    __slots__ = ("a", "b")

    def __init__(self, a: object, b: object) -> None:
        self.a = a
        self.b = b


if __name__ == "__main__":
    main()
