"""``traced``: user-defined parent runs, so nested model calls form one tree.

A traced function or block is a "chain" run: ``ChainStart`` when it begins,
exactly one of ``ChainEnd`` or ``ChainError`` when it ends. While it runs, the
:class:`~streamllm.callbacks.context.ParentRun` contextvar names it, so every
model call inside (also from asyncio tasks it starts, ``batch`` threads and
:func:`~streamllm.callbacks.context.copy_context_executor` work) reports its
``parent_run_id`` and ``trace_id`` and inherits its handlers, tags and metadata::

    @traced
    def answer(question: str) -> str:
        return model.invoke(question)

    async with traced("pipeline", tags=["nightly"]):
        await model.ainvoke("hi")

Around a generator or async generator the parent is set for each step only,
so it never leaks into the code consuming it.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast, final, overload

from streamllm.callbacks.chain import ChainRun, jsonable
from streamllm.callbacks.manager import check_metadata, check_tags
from streamllm.callbacks.registry import Entry, Handler, resolve_all
from streamllm.errors import ConfigurationError

__all__ = ["ChainRun", "Traced", "traced"]  # ChainRun: re-exported from chain

F = TypeVar("F", bound=Callable[..., Any])


def _inputs_of(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    if signature is None:
        return {"args": jsonable(args), "kwargs": jsonable(kwargs)}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": jsonable(args), "kwargs": jsonable(kwargs)}
    return {
        name: jsonable(value)
        for name, value in bound.arguments.items()
        if name not in ("self", "cls")
    }


# The open ``with traced(...)`` blocks of this context, innermost last. A
# contextvar, not a list on the instance, so one module-level ``traced("step")``
# can be entered by many tasks at once: enter and exit run in the same context.
_blocks: contextvars.ContextVar[tuple[ChainRun, ...]] = contextvars.ContextVar(
    "streamllm_traced_blocks", default=()
)


def _push(run: ChainRun) -> None:
    _blocks.set((*_blocks.get(), run))


def _pop() -> ChainRun:
    stack = _blocks.get()
    _blocks.set(stack[:-1])
    return stack[-1]


class Traced:
    """A parent-run spec: a decorator and a (sync or async) context manager.

    Build it with :func:`traced`. One instance may decorate any number of
    functions and open any number of blocks, also at once in several tasks or
    threads. Inside a generator, decorate the generator rather than opening a
    block across its ``yield``: a block's parent would reach the consumer.
    """

    def __init__(
        self,
        name: str | None,
        *,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        callbacks: Sequence[Handler] | None = None,
    ) -> None:
        self.name = name or "traced"
        self._named = name is not None
        # Checked here, once, so a bad decorator argument fails at import time.
        self.tags = check_tags(tags)
        self.metadata = check_metadata(metadata)
        self.entries: tuple[Entry, ...] = resolve_all(callbacks)

    def _named_for(self, func: Callable[..., Any]) -> Traced:
        if self._named:
            return self
        clone = Traced.__new__(Traced)
        clone.__dict__.update(self.__dict__)
        clone.name = getattr(func, "__name__", None) or self.name
        return clone

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> ChainRun:
        run = ChainRun(self, None, "sync")
        run.start()
        run.enter()
        _push(run)
        return run

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        run = _pop()
        run.exit()
        if exc is None:
            run.end(run.outputs)
        else:
            run.fail(exc)

    async def __aenter__(self) -> ChainRun:
        run = ChainRun(self, None, "async")
        await run.astart()
        run.enter()
        _push(run)
        return run

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        run = _pop()
        run.exit()
        if exc is None:
            await run.aend(run.outputs)
        else:
            await run.afail(exc)

    # -- decorator ---------------------------------------------------------------

    def __call__(self, func: F) -> F:
        spec = self._named_for(func)
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None
        if inspect.isasyncgenfunction(func):
            wrapper: Callable[..., Any] = _wrap_asyncgen(spec, signature, func)
        elif inspect.iscoroutinefunction(func):
            wrapper = _wrap_async(spec, signature, func)
        elif inspect.isgeneratorfunction(func):
            wrapper = _wrap_gen(spec, signature, func)
        else:
            wrapper = _wrap_sync(spec, signature, func)
        return cast(F, functools.wraps(func)(wrapper))


def _wrap_sync(
    spec: Traced, sig: inspect.Signature | None, func: Callable[..., Any]
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = ChainRun(spec, _inputs_of(sig, args, kwargs), "sync")
        run.start()
        run.enter()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            run.exit()
            run.fail(exc)
            raise
        run.exit()
        run.end(result)
        return result

    return wrapper


def _wrap_async(
    spec: Traced, sig: inspect.Signature | None, func: Callable[..., Any]
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = ChainRun(spec, _inputs_of(sig, args, kwargs), "async")
        await run.astart()
        run.enter()
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            run.exit()
            await run.afail(exc)
            raise
        run.exit()
        await run.aend(result)
        return result

    return wrapper


@final
class _Steps:
    """The I/O-free core of a traced (async) generator: what goes into the body
    next (the value the consumer sent, or the exception it threw), and the
    parent run set around each step of the body only, so the consumer of the
    generator runs outside the chain."""

    __slots__ = ("run", "sent", "thrown")

    def __init__(self, run: ChainRun) -> None:
        self.run = run
        self.sent: Any = None
        self.thrown: BaseException | None = None

    def __enter__(self) -> BaseException | None:
        """Enter the chain for one step; the exception to throw in, if any."""
        self.run.enter()
        thrown, self.thrown = self.thrown, None
        return thrown

    def __exit__(self, *exc: object) -> None:
        self.run.exit()

    def caught(self, exc: BaseException) -> None:
        """The consumer threw ``exc`` in at a yield: pass it on to the body at
        the next step; closing (``GeneratorExit``) ends the wrapper instead."""
        if isinstance(exc, GeneratorExit):
            raise exc
        self.thrown = exc


def _wrap_gen(
    spec: Traced, sig: inspect.Signature | None, func: Callable[..., Any]
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        run = ChainRun(spec, _inputs_of(sig, args, kwargs), "sync")
        run.start()
        gen: Generator[Any, Any, Any] = func(*args, **kwargs)
        steps = _Steps(run)
        try:
            while True:
                with steps as thrown:
                    try:
                        item = gen.throw(thrown) if thrown else gen.send(steps.sent)
                    except StopIteration as stop:
                        result = stop.value
                        break
                try:
                    steps.sent = yield item
                except BaseException as exc:
                    steps.caught(exc)
        except BaseException as exc:
            try:
                with steps:
                    gen.close()
            finally:
                run.fail(exc)
            raise
        run.end(result)
        return result

    return wrapper


def _wrap_asyncgen(
    spec: Traced, sig: inspect.Signature | None, func: Callable[..., Any]
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        run = ChainRun(spec, _inputs_of(sig, args, kwargs), "async")
        await run.astart()
        agen: AsyncGenerator[Any, Any] = func(*args, **kwargs)
        steps = _Steps(run)
        try:
            while True:
                with steps as thrown:
                    try:
                        item = await (agen.athrow(thrown) if thrown else agen.asend(steps.sent))
                    except StopAsyncIteration:
                        break
                try:
                    steps.sent = yield item
                except BaseException as exc:
                    steps.caught(exc)
        except BaseException as exc:
            try:
                with steps:
                    await agen.aclose()
            finally:
                await run.afail(exc)
            raise
        await run.aend(None)

    return wrapper


@overload
def traced(func: F, /) -> F: ...


@overload
def traced(
    label: str | None = None,
    /,
    *,
    name: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    callbacks: Sequence[Handler] | None = None,
) -> Traced: ...


def traced(
    name_or_func: Any = None,
    /,
    *,
    name: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    callbacks: Sequence[Handler] | None = None,
) -> Any:
    """Open a parent run around a function or block.

    >>> @traced                                   # doctest: +SKIP
    ... def answer(q): return model.invoke(q)
    >>> @traced(name="qa", tags=["prod"], callbacks=[recorder])   # doctest: +SKIP
    ... async def answer(q): return await model.ainvoke(q)
    >>> with traced("block") as run:              # doctest: +SKIP
    ...     model.invoke("hi"); run.outputs = {"ok": True}

    Functions, coroutine functions, generators and async generators can be
    decorated. ``name`` (given by keyword, or first as a string) defaults to the
    function's name; ``callbacks`` are handlers for this run and every run
    inside it; ``tags`` and ``metadata`` are passed down too.
    """
    if callable(name_or_func) and not isinstance(name_or_func, str):
        return Traced(name, tags=tags, metadata=metadata, callbacks=callbacks)(name_or_func)
    if name_or_func is not None and not isinstance(name_or_func, str):
        raise ConfigurationError(
            f"traced() takes a name or a function, not {type(name_or_func).__name__}"
        )
    if name_or_func is not None and name is not None:
        raise ConfigurationError("traced() got a name twice: give it once")
    return Traced(name_or_func or name, tags=tags, metadata=metadata, callbacks=callbacks)
