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

import contextlib
import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast, final, overload
from uuid import UUID

from streamllm.callbacks.context import ParentRun, current_parent, reset_parent, set_parent
from streamllm.callbacks.manager import (
    CallbackManager,
    Mode,
    RunManager,
    check_metadata,
    check_tags,
    reason_for,
)
from streamllm.callbacks.registry import Entry, Handler, resolve_all
from streamllm.errors import ConfigurationError, HandlerError

__all__ = ["ChainRun", "Traced", "traced"]

F = TypeVar("F", bound=Callable[..., Any])

_MAX_REPR = 200


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-compatible copy of inputs/outputs; anything else becomes a short repr
    (events stay serialisable for recorders without failing the user's call)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < 8:
        if isinstance(value, Mapping):
            return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_jsonable(v, depth + 1) for v in value]
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


@final
class ChainRun:
    """The running chain, as ``with traced(...) as run:`` gives it.

    ``run_id``, ``parent_run_id`` and ``trace_id`` identify it; set ``outputs``
    (JSON-compatible) to have them sent with ``ChainEnd``.
    """

    __slots__ = ("_inputs", "_manager", "_token", "mode", "outputs", "parent", "run")

    def __init__(self, spec: Traced, inputs: dict[str, Any] | None, mode: Mode) -> None:
        enclosing = current_parent()
        manager = CallbackManager.configure(
            local=spec.entries, tags=spec.tags, metadata=dict(spec.metadata)
        )
        self.mode = mode
        self.run: RunManager = manager.start_run(name=spec.name, sender=None, mode=mode)
        # Children re-merge global and scoped handlers themselves (and they follow
        # tasks and batch threads through their own contextvar), so the parent
        # passes down only what came through parent runs: no duplicates, and a
        # global handler removed later is not kept alive by an old trace.
        inherited = (enclosing.entries if enclosing is not None else ()) + spec.entries
        self.parent = ParentRun(
            self.run.run_id, self.run.trace_id, inherited, manager.tags, manager.metadata
        )
        self.outputs: Any = None
        self._manager = manager
        self._token: Any = None
        self._inputs = inputs

    @property
    def run_id(self) -> UUID:
        """This chain's run id (a UUID)."""
        return self.run.run_id

    @property
    def parent_run_id(self) -> UUID | None:
        """The enclosing chain's run id, or None at the root."""
        return self.run.parent_run_id

    @property
    def trace_id(self) -> UUID:
        """The root run's id, shared by every run in the tree."""
        return self.run.trace_id

    # -- the parent contextvar ---------------------------------------------

    def enter(self) -> None:
        self._token = set_parent(self.parent)

    def exit(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            reset_parent(token)

    # -- sync lifecycle ----------------------------------------------------

    def start(self) -> None:
        """Send ``ChainStart``; a ``raise_error`` handler failing on it ends the run."""
        try:
            self.run.emit(self.run.chain_start_event(self._inputs))
        except HandlerError as exc:
            self.run.clear_failure()
            self._error_quietly(exc)
            raise

    def end(self, outputs: Any) -> None:
        """Send ``ChainEnd`` (then wait for async handlers, as a model run does)."""
        try:
            self.run.emit(self.run.chain_end_event(_jsonable(outputs)))
        finally:
            late = self.run.settle(wait=True)
        if late is not None:
            raise late

    def fail(self, exc: BaseException) -> None:
        """Send ``ChainError`` for ``exc``; raises a handler's failure in place of a
        plain failure (never in place of cancellation)."""
        if self.run.done:
            return
        if isinstance(exc, HandlerError):
            self.run.clear_failure()
        reason = reason_for(exc)
        try:
            self.run.emit(self.run.chain_error_event(exc, reason))
        except HandlerError as handler_exc:
            self.run.settle(wait=False)
            if reason == "failed":
                raise handler_exc from exc
            return
        # A garbage collector closing an abandoned generator must not wait.
        self.run.settle(wait=not isinstance(exc, GeneratorExit))

    def _error_quietly(self, exc: BaseException) -> None:
        with contextlib.suppress(HandlerError):
            self.run.emit(self.run.chain_error_event(exc, "failed"))
        self.run.settle(wait=True)

    # -- async lifecycle -----------------------------------------------------

    async def astart(self) -> None:
        try:
            await self.run.aemit(self.run.chain_start_event(self._inputs))
        except HandlerError as exc:
            self.run.clear_failure()
            with contextlib.suppress(HandlerError):
                await self.run.aemit(self.run.chain_error_event(exc, "failed"))
            raise

    async def aend(self, outputs: Any) -> None:
        await self.run.aemit(self.run.chain_end_event(_jsonable(outputs)))

    async def afail(self, exc: BaseException) -> None:
        if self.run.done:
            return
        if isinstance(exc, HandlerError):
            self.run.clear_failure()
        reason = reason_for(exc)
        try:
            await self.run.aemit(self.run.chain_error_event(exc, reason))
        except HandlerError as handler_exc:
            if reason == "failed":
                raise handler_exc from exc


def _inputs_of(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    if signature is None:
        return {"args": _jsonable(args), "kwargs": _jsonable(kwargs)}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": _jsonable(args), "kwargs": _jsonable(kwargs)}
    return {
        name: _jsonable(value)
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


def _wrap_gen(
    spec: Traced, sig: inspect.Signature | None, func: Callable[..., Any]
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        run = ChainRun(spec, _inputs_of(sig, args, kwargs), "sync")
        run.start()
        gen: Generator[Any, Any, Any] = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                # The parent is set for one step of the body only: the consumer
                # of this generator runs outside the chain.
                run.enter()
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(sent)
                except StopIteration as stop:
                    result = stop.value
                    break
                finally:
                    run.exit()
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc
        except BaseException as exc:
            run.enter()
            try:
                gen.close()
            finally:
                run.exit()
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
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                run.enter()
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(sent)
                except StopAsyncIteration:
                    break
                finally:
                    run.exit()
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc
        except BaseException as exc:
            run.enter()
            try:
                await agen.aclose()
            finally:
                run.exit()
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
