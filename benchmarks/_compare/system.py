"""Peak memory of streaming against ``"".join``, and import cost in fresh processes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

from _compare.common import HAVE_LANGCHAIN, Counter, Row, interleave, tokens
from streamllm import FakeListLLM


def peak(fn: Callable[[], object]) -> float:
    """Peak bytes traced while ``fn`` runs (its result included), in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return top / 1e6


def memory(n: int, repeat: int) -> list[Row]:
    """Stream ``n`` tokens through one handler and build the result, against
    joining the same tokens (both start from a list of tokens already built)."""
    toks = tokens(n)
    model = FakeListLLM(responses=[toks])

    def stream_and_result() -> float:
        handler = Counter()
        value = peak(lambda: model.generate(["x"], callbacks=[handler]))
        if handler.n != n:
            raise AssertionError(f"{handler.n} tokens of {n}")
        return value

    times = interleave(
        {"streamllm": stream_and_result, "join": lambda: peak(lambda: "".join(toks))},
        repeat,
    )
    return [
        Row(
            "peak memory, stream + result",
            "MB",
            times["streamllm"],
            '"".join(tokens)',
            times["join"],
            target=3,
            lower=True,
        )
    ]


def _child_cpu(code: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter running ``code``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def imports(repeat: int) -> list[Row]:
    """``import streamllm`` against ``import langchain_core`` (and the public
    names users import from it), each minus a bare interpreter's start-up."""
    # Both packages load their public names lazily, so the bare imports are
    # compared with each other, and the imports that bring in a model and the
    # callbacks machinery with each other.
    ours = {
        "import langchain_core": "import streamllm",
        "langchain_core chat model + callbacks": (
            "from streamllm import BaseLLM, CallbackHandler, CallbackManager"
        ),
    }
    contestants = {
        "bare": lambda: _child_cpu("pass") * 1e3,
        "streamllm": lambda: _child_cpu(ours["import langchain_core"]) * 1e3,
        "streamllm model + callbacks": lambda: (
            _child_cpu(ours["langchain_core chat model + callbacks"]) * 1e3
        ),
    }
    if HAVE_LANGCHAIN:
        contestants["import langchain_core"] = lambda: _child_cpu("import langchain_core") * 1e3
        contestants["langchain_core chat model + callbacks"] = lambda: (
            _child_cpu("import langchain_core.language_models, langchain_core.callbacks") * 1e3
        )
    times = interleave(contestants, repeat)
    base = min(times["bare"])
    net = {k: [max(t - base, 0.0) for t in v] for k, v in times.items() if k != "bare"}
    mine = {
        "import langchain_core": "streamllm",
        "langchain_core chat model + callbacks": "streamllm model + callbacks",
    }
    rows = [
        Row(
            f"import (CPU, fresh process, minus bare start-up): {ours[other]}",
            "ms",
            net[mine[other]],
            other,
            values,
            target=3 if other == "import langchain_core" else None,
        )
        for other, values in net.items()
        if other in mine
    ]
    return rows or [
        Row(
            "import (CPU, fresh process)",
            "ms",
            net["streamllm"],
            "(langchain-core not installed)",
            [],
        )
    ]
