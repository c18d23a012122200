"""The many-input Runnable methods: ``generate``, ``batch`` and their async forms.

A mixin of :class:`~streamllm.models.base.BaseLLM`: each method asks the model
for a prepared :class:`Batch` and hands it to the batch engine
(:mod:`streamllm.models._batch`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Unpack, overload

from streamllm.models._batch import Batch, arun_batch, run_batch
from streamllm.models._stop import Stop
from streamllm.models.config import CallOptions, LLMInput, RunnableConfig
from streamllm.outputs import LLMResult

__all__ = ["BatchMethods"]

#: What one run returns: ``str`` for text models, ``AIMessage`` for chat models.
Out = TypeVar("Out")


class BatchMethods(Generic[Out]):
    """``generate``/``agenerate`` and ``batch``/``abatch``."""

    if TYPE_CHECKING:  # the model class defines it (kept out of the MRO at run time)

        def _batch(
            self,
            inputs: Sequence[LLMInput],
            config: RunnableConfig | None,
            options: Mapping[str, Any],
            limit: int | None,
            *,
            need_result: bool,
            return_exceptions: bool,
            stop: Stop | None = None,
        ) -> Batch: ...

    def generate(
        self,
        prompts: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> LLMResult:
        """Run many inputs, one run each, and return one result with their usage summed."""
        batch = self._batch(
            prompts,
            config,
            kwargs,
            max_concurrency,
            need_result=True,
            return_exceptions=False,
            stop=stop,
        )
        return LLMResult.combine(run_batch(batch, self))

    async def agenerate(
        self,
        prompts: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> LLMResult:
        """Async :meth:`generate`."""
        batch = self._batch(
            prompts,
            config,
            kwargs,
            max_concurrency,
            need_result=True,
            return_exceptions=False,
            stop=stop,
        )
        return LLMResult.combine(await arun_batch(batch, self))

    @overload
    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: Literal[False] = False,
        **kwargs: Unpack[CallOptions],
    ) -> list[Out]: ...

    @overload
    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: Literal[True],
        **kwargs: Unpack[CallOptions],
    ) -> list[Out | BaseException]: ...

    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: bool = False,
        **kwargs: Unpack[CallOptions],
    ) -> list[Out] | list[Out | BaseException]:
        """Run many inputs concurrently (threads); results in input order.

        With ``return_exceptions=False`` the first failure is raised once every
        run in flight has ended, and no new run starts after it. Ctrl-C, or a
        ``KeyboardInterrupt``/``SystemExit`` in a worker, ends the runs in
        flight as cancelled and reaches the caller as itself.
        """
        batch = self._batch(
            inputs,
            config,
            kwargs,
            max_concurrency,
            need_result=False,
            return_exceptions=return_exceptions,
            stop=stop,
        )
        return run_batch(batch, self)

    @overload
    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: Literal[False] = False,
        **kwargs: Unpack[CallOptions],
    ) -> list[Out]: ...

    @overload
    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: Literal[True],
        **kwargs: Unpack[CallOptions],
    ) -> list[Out | BaseException]: ...

    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        stop: Stop | None = None,
        return_exceptions: bool = False,
        **kwargs: Unpack[CallOptions],
    ) -> list[Out] | list[Out | BaseException]:
        """Async :meth:`batch`: tasks on the running loop, ``max_concurrency`` at a time."""
        batch = self._batch(
            inputs,
            config,
            kwargs,
            max_concurrency,
            need_result=False,
            return_exceptions=return_exceptions,
            stop=stop,
        )
        return await arun_batch(batch, self)
