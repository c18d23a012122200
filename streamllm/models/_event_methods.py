"""The event-stream Runnable methods: ``stream_events`` and ``astream_events``.

A mixin of :class:`~streamllm.models.base.BaseLLM` and
:class:`~streamllm.models.chat.BaseChatModel`: the same two methods for both
kinds of model, over the model's ``_events_run``/``_aevents_run``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Literal, Unpack

from streamllm.events import Event
from streamllm.models._stop import Stop
from streamllm.models.config import CallOptions, LLMInput, RunnableConfig

__all__ = ["EventMethods"]


class EventMethods:
    """``stream_events`` and ``astream_events``."""

    if TYPE_CHECKING:  # the model class defines them (kept out of the MRO at run time)
        _events_run: Callable[..., Generator[Event, None, None]]
        _aevents_run: Callable[..., AsyncGenerator[Event, None]]

    def stream_events(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Generator[Event, None, None]:
        """Yield the run's typed events (a chat model's block events included), in
        order, as the model streams.

        The events are produced as the consumer pulls: a slow consumer holds
        the model back, and nothing is dropped.
        """
        return self._events_run(input, config, kwargs, stop)

    def astream_events(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v2"] = "v2",
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> AsyncGenerator[Event, None]:
        """Async :meth:`stream_events`."""
        return self._aevents_run(input, config, kwargs, stop, version)
