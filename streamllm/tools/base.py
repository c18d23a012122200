"""``Tool``: a function a model can call, run as a run of its own.

>>> from streamllm.tools import tool
>>> @tool
... def add(a: int, b: int) -> int:
...     '''Add two numbers.'''
...     return a + b
>>> add.invoke({"a": 2, "b": "3"})
5
>>> add.invoke(ToolCall(id="call_1", name="add", args={"a": 2, "b": 3})).content
'5'
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Unpack, overload

from pydantic import BaseModel, ValidationError

from streamllm.callbacks.manager import check_metadata, check_tags
from streamllm.callbacks.registry import Handler, resolve_all
from streamllm.callbacks.run import Mode
from streamllm.chat.blocks import InvalidToolCall, ToolCall
from streamllm.chat.inputs import Message
from streamllm.chat.tools_schema import ToolSpec, to_tool_spec
from streamllm.errors import ConfigurationError, ToolArgumentsError
from streamllm.models.config import CallOptions, RunnableConfig, configure
from streamllm.tools._run import ToolRun
from streamllm.tools._sync import run_coroutine
from streamllm.tools.message import tool_message
from streamllm.tools.schema import check_name, function_schema

__all__ = ["Tool", "ToolInput"]

_CALL_TYPES = frozenset({"tool_call", "invalid_tool_call"})
_MODEL_VALIDATE = BaseModel.model_validate.__func__  # type: ignore[attr-defined]

#: What ``invoke`` takes: the arguments, or the model's call (a ``ToolCall``,
#: or its dict with ``"type": "tool_call"``).
ToolInput = Mapping[str, Any] | ToolCall | InvalidToolCall


class Tool:
    """A function a model can call: ``name``, ``description`` and ``args_schema``
    (a pydantic model of its arguments) are what the model is offered
    (``model.bind_tools([tool])``); ``invoke``/``ainvoke`` validate the
    arguments and run the function as a tool run.

    Build one with :func:`~streamllm.tools.tool` or directly; ``args_schema``
    defaults to the function's signature, ``description`` to its docstring::

        Tool(name="add", func=add_numbers)
        Tool(name="search", description="Search the web.", args_schema=Query,
             coroutine=search)

    ``func`` is called from ``invoke``, ``coroutine`` from ``ainvoke``; with
    only one of them, ``ainvoke`` runs ``func`` in a worker thread and
    ``invoke`` runs ``coroutine`` on an event loop of its own (see
    :mod:`streamllm.tools._sync`). ``callbacks``, ``tags`` and ``metadata``
    apply to every run of the tool, as a model's do.
    """

    __slots__ = (
        "_entries",
        "_params",
        "_plain",
        "_spec",
        "args_schema",
        "callbacks",
        "coroutine",
        "description",
        "func",
        "metadata",
        "name",
        "tags",
    )

    def __init__(
        self,
        name: str | None = None,
        description: str | None = None,
        args_schema: type[BaseModel] | None = None,
        func: Callable[..., Any] | None = None,
        coroutine: Callable[..., Awaitable[Any]] | None = None,
        *,
        callbacks: Sequence[Handler] | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if func is not None and inspect.iscoroutinefunction(func) and coroutine is None:
            func, coroutine = None, func
        source = func if func is not None else coroutine
        if source is None or not callable(source):
            raise ConfigurationError(
                f"tool {name!r} has no function: give func= (sync) or coroutine= (async)"
            )
        if coroutine is not None and not inspect.iscoroutinefunction(coroutine):
            raise ConfigurationError(f"tool {name!r}: coroutine= must be an async function")
        if func is not None and inspect.iscoroutinefunction(func):
            raise ConfigurationError(f"tool {name!r}: func= must be a sync function")
        self.name = check_name(name if name is not None else getattr(source, "__name__", None))
        if args_schema is None:
            schema = function_schema(source, self.name)
            args_schema, params = schema.model, schema.params
            summary = schema.description
        else:
            args_schema, params = _check_schema(self.name, args_schema)
            summary = ""
        if description is not None and not isinstance(description, str):
            raise ConfigurationError(f"tool {self.name!r}: description must be a str")
        self.description = description if description is not None else summary
        self.args_schema = args_schema
        self.func = func
        self.coroutine = coroutine
        self.callbacks = callbacks
        self.tags = list(check_tags(tags)) or None
        self.metadata = dict(check_metadata(metadata)) or None
        self._entries = resolve_all(callbacks)
        # None when each field is its parameter (the common case, a dict copy).
        self._params = None if all(f == p for f, p in params) else params
        # The schema whose model_validate is pydantic's own: its validator is
        # called directly (the same call, without the wrapper's cost).
        self._plain = args_schema if _plain_validate(args_schema) else None
        # Checked now, so bind_tools never fails on a tool that was accepted.
        self._spec: ToolSpec = to_tool_spec(self)

    @property
    def spec(self) -> ToolSpec:
        """The tool as a model is offered it (name, description, JSON schema)."""
        return self._spec

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, description={self.description!r})"

    # -- one call's input and arguments ------------------------------------------

    def _input(self, input: Any) -> tuple[ToolCall | InvalidToolCall | None, Mapping[str, Any]]:
        kind = type(input)
        if kind is dict or (kind is not ToolCall and isinstance(input, Mapping)):
            # A call's dict has its "type" and "args" (a tool may well have a
            # parameter named "type", so the kind alone does not tell).
            if input.get("type") not in _CALL_TYPES or (
                "args_text" not in input and "args" not in input
            ):
                return None, input
            input = _call_of(self.name, input)
        if isinstance(input, ToolCall | InvalidToolCall):
            if input.name is not None and input.name != self.name:
                raise ConfigurationError(
                    f"the call {input.id!r} is for the tool {input.name!r}, not {self.name!r}"
                )
            return input, input.args if isinstance(input, ToolCall) else {}
        raise ConfigurationError(
            f"tool {self.name!r} takes a dict of arguments or a ToolCall, "
            f"not {type(input).__name__}"
        )

    def _arguments(self, call: ToolCall | InvalidToolCall | None, args: Mapping[str, Any]) -> Any:
        """The function's keyword arguments, validated (:class:`ToolArgumentsError`)."""
        if isinstance(call, InvalidToolCall):
            raise ToolArgumentsError(
                f"tool {self.name!r}: the model's arguments are not a JSON object ({call.error})",
                tool=self.name,
            )
        schema = self.args_schema
        try:
            if schema is self._plain:
                values = schema.__pydantic_validator__.validate_python(args)
            else:
                values = schema.model_validate(args)
        except ValidationError as exc:
            raise _arguments_error(self.name, exc) from None
        params = self._params
        if params is None:  # every field is named as its parameter
            return values.__dict__.copy()
        return {param: getattr(values, field) for field, param in params}

    def _result(self, call: ToolCall | InvalidToolCall | None, output: Any) -> Any:
        if not isinstance(call, ToolCall):  # an InvalidToolCall never gets here
            return output
        return tool_message(output, call.id, self.name)

    def _open(
        self, config: RunnableConfig | None, options: Mapping[str, Any], mode: Mode, input: Any
    ) -> tuple[ToolRun, ToolCall | InvalidToolCall | None, Mapping[str, Any]]:
        call, args = self._input(input)
        manager, name, run_id = configure(
            config,
            options,
            entries=self._entries,
            tags=self.tags,
            metadata=self.metadata,
            name=self.name,
        )
        run = ToolRun(manager, name, self, run_id, mode, call.id if call else None, args)
        return run, call, args

    # -- the Runnable methods ----------------------------------------------------

    @overload
    def invoke(
        self,
        input: ToolCall | InvalidToolCall,
        config: RunnableConfig | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Message: ...
    @overload
    def invoke(
        self,
        input: Mapping[str, Any],
        config: RunnableConfig | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Any: ...
    def invoke(
        self, input: ToolInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> Any:
        """Run the tool: its output for a dict of arguments; for a ``ToolCall``,
        the ``tool`` :class:`~streamllm.messages.Message` answering it. Bad
        arguments raise :class:`ToolArgumentsError` (the run ends with
        ``ToolError``); what the function raises is raised."""
        run, call, args = self._open(config, kwargs, "sync", input)
        run.start()
        try:
            values = self._arguments(call, args)
            run.enter()
            try:
                if self.func is not None:
                    output = self.func(**values)
                else:
                    coroutine = self.coroutine
                    output = run_coroutine(lambda: coroutine(**values))  # type: ignore[misc]
            finally:
                run.exit()
        except BaseException as exc:
            run.fail(exc)
            raise
        run.end(output)
        return output if call is None else self._result(call, output)

    @overload
    async def ainvoke(
        self,
        input: ToolCall | InvalidToolCall,
        config: RunnableConfig | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Message: ...
    @overload
    async def ainvoke(
        self,
        input: Mapping[str, Any],
        config: RunnableConfig | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Any: ...
    async def ainvoke(
        self, input: ToolInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> Any:
        """Async :meth:`invoke`. A sync ``func`` runs in a worker thread (in a
        copy of the context); if the task is cancelled meanwhile, the run ends
        ``ToolError(reason="cancelled")`` at once and the thread's result is dropped."""
        run, call, args = self._open(config, kwargs, "async", input)
        await run.astart()
        try:
            values = self._arguments(call, args)
            run.enter()
            try:
                if self.coroutine is not None:
                    output = await self.coroutine(**values)
                else:
                    output = await asyncio.to_thread(self.func, **values)  # type: ignore[arg-type]
            finally:
                run.exit()
        except BaseException as exc:
            await run.afail(exc)
            raise
        await run.aend(output)
        return self._result(call, output)


def _plain_validate(schema: type[BaseModel]) -> bool:
    return getattr(schema.model_validate, "__func__", None) is _MODEL_VALIDATE


def _check_schema(name: str, schema: Any) -> tuple[type[BaseModel], tuple[tuple[str, str], ...]]:
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigurationError(
            f"tool {name!r}: args_schema must be a pydantic model class, not {schema!r}"
        )
    fields = tuple((field, field) for field in schema.model_fields)
    return schema, fields


def _call_of(name: str, data: Mapping[str, Any]) -> ToolCall | InvalidToolCall:
    cls = ToolCall if data.get("type") == "tool_call" else InvalidToolCall
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"tool {name!r}: not a valid {cls.__name__}: {exc}") from None


def _arguments_error(name: str, exc: ValidationError) -> ToolArgumentsError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in errors
    )
    return ToolArgumentsError(
        f"tool {name!r} got invalid arguments: {details}",
        tool=name,
        errors=[dict(e) for e in errors],
    )
