"""Per-token cost of the LangChain bridge, both directions (issue 14: at most 3 µs).

from_langchain: a streamllm stream delivering to a langchain-core handler
through ``from_langchain`` against the same work done by a native streamllm
handler (both count tokens), for a text run (``GenerationChunk``) and a chat
run (``ChatGenerationChunk``), sync and async. The difference is the bridge.

StreamLLMCallbackHandler: langchain-core's own ``FakeListChatModel.stream``
with a native langchain-core counting handler against the bridge delivering
to a streamllm counting handler: the difference is what the bridge adds on top
of LangChain's own callback machinery. The last rows call the token hook
directly, as LangChain's manager does, without LangChain's own cost.

CPU time of this process, best of ``--repeat``:

    python benchmarks/bridge.py                      # 100k tokens
    python benchmarks/bridge.py --tokens 1000 --repeat 1   # smoke size
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import time
import uuid
from collections.abc import Callable
from typing import Any

from _compare.common import AsyncCounter, Counter, LCAsyncCounter, LCCounter, tokens
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.outputs import LLMResult as LCResult

from streamllm import FakeListLLM
from streamllm.integrations.langchain import StreamLLMCallbackHandler, from_langchain

LIMIT_US = 3.0


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` runs in CPU seconds of this process (other processes on
    a shared machine inflate wall time, not the work done here)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.tokens, args.repeat
    toks = tokens(n)
    model = FakeListLLM(responses=[toks])
    chat_input = [{"role": "user", "content": "x"}]

    def stream(handler: object, prompt: object) -> Callable[[], object]:
        def run() -> int:
            count = sum(1 for _ in model.stream(prompt, callbacks=[handler]))  # type: ignore[arg-type]
            assert count == n
            return count

        return run

    def astream(handler: object, prompt: object) -> Callable[[], object]:
        async def run() -> int:
            return sum([1 async for _ in model.astream(prompt, callbacks=[handler])])  # type: ignore[arg-type]

        return lambda: asyncio.run(run())

    def direct(handler: Any, start: str, chunk: Any) -> Callable[[], object]:
        def run() -> None:
            run_id = uuid.uuid4()
            if start == "chat" and isinstance(handler, StreamLLMCallbackHandler):
                handler.on_chat_model_start({}, [[]], run_id=run_id)
            else:  # LCCounter has no on_chat_model_start (LangChain would fall back)
                handler.on_llm_start({}, ["x"], run_id=run_id)
            hook = handler.on_llm_new_token
            for token in toks:
                hook(token, chunk=chunk, run_id=run_id)
            handler.on_llm_end(LCResult(generations=[]), run_id=run_id)

        return run

    def per_token(fn: Callable[[], object], count: int = n) -> float:
        return best(fn, repeat) / count * 1e6

    rows: list[tuple[str, float, float]] = []
    for label, runner, native, bridged, prompt in [
        ("stream(), text run", stream, Counter, LCCounter, "x"),
        ("stream(), chat run", stream, Counter, LCCounter, chat_input),
        ("astream(), text run, async handler", astream, AsyncCounter, LCAsyncCounter, "x"),
    ]:
        base = per_token(runner(native(), prompt))
        via = per_token(runner(from_langchain(bridged()), prompt))
        rows.append((f"from_langchain: {label}", base, via))

    # LangChain's own fake streams character by character: one chunk per character.
    text = "".join(toks)[: max(n // 10, 1000)]
    chat = FakeListChatModel(responses=[text])
    chars = len(text)

    def lc_stream(handler: object) -> Callable[[], object]:
        return lambda: sum(1 for _ in chat.stream("x", config={"callbacks": [handler]}))

    base = per_token(lc_stream(LCCounter()), chars)
    via = per_token(lc_stream(StreamLLMCallbackHandler([Counter()])), chars)
    rows.append(("StreamLLMCallbackHandler: LangChain chat stream()", base, via))

    # The same hook called directly, as LangChain's manager calls it: the bridge's
    # own cost without LangChain's (which is most of the row above, and noisy).
    for label, start, chunk in [
        ("chat chunk", "chat", ChatGenerationChunk(message=AIMessageChunk(content=" t1"))),
        ("text chunk", "text", GenerationChunk(text=" t1")),
    ]:
        base = per_token(direct(LCCounter(), start, chunk))
        via = per_token(direct(StreamLLMCallbackHandler([Counter()]), start, chunk))
        rows.append((f"StreamLLMCallbackHandler.on_llm_new_token, {label}", base, via))

    print(f"Machine: {platform.python_implementation()} {platform.python_version()}, ", end="")
    print(f"{platform.machine()}, {n} tokens, best of {repeat} (CPU time)")
    print()
    print("| Benchmark | native µs/token | through the bridge µs/token | bridge adds µs/token |")
    print("|---|---:|---:|---:|")
    worst = 0.0
    for label, base, via in rows:
        worst = max(worst, via - base)
        print(f"| {label} | {base:.2f} | {via:.2f} | {via - base:.2f} |")
    print()
    verdict = "within" if worst <= LIMIT_US else "OVER"
    print(f"Largest overhead: {worst:.2f} µs/token ({verdict} the {LIMIT_US:.0f} µs budget)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
