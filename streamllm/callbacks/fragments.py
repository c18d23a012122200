"""The per-fragment events of a run, built from a template: ``NewToken`` and ``BlockDelta``.

A run streams thousands of these, so each is one copy of a per-run template
dict with a few keys set, handed straight to its inline handlers; the signal,
the async drains and a ``raise_error`` failure are looked at only when one of
them has work. :class:`~streamllm.callbacks.run.RunManager` inherits these
methods; every other event goes through its generic ``step``/``emit``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from streamllm._fast import new_object, set_dict
from streamllm.callbacks.deliver import Target, adeliver, deliver
from streamllm.events import BaseEvent, BlockDelta, NewToken
from streamllm.signals import SIGNALS

if TYPE_CHECKING:
    from streamllm.callbacks.failures import Failures
    from streamllm.callbacks.loop import AsyncDrain
    from streamllm.callbacks.tables import Tables

__all__ = ["Fragments"]

_TOKEN = NewToken.slot
_DELTA = BlockDelta.slot
_TOKEN_SIGNAL = SIGNALS[_TOKEN]
_DELTA_SIGNAL = SIGNALS[_DELTA]
# A template's own fields: every field's default (the required ones get a
# placeholder), so a field added to the class is carried.
_TOKEN_FIELDS = {
    name: None if field.is_required() else field.default
    for name, field in NewToken.model_fields.items()
    if name not in BaseEvent.model_fields and name != "type"
}
_DELTA_FIELDS = {"block": 0, "kind": "reasoning", "delta": ""}
_time = time.time
_monotonic = time.monotonic
# _INLINED: token() and delta() run once per streamed fragment, where a Python
# call costs as much as the work, so they inline trusted_event and, for the
# common single handler, deliver(): for one target deliver() is exactly that
# try/except (its BaseException branch has nobody after the only target to
# reach, and re-raises). Every other event goes through deliver() itself.


class Fragments:
    """``token``/``atoken`` (text) and ``delta``/``adelta`` (reasoning and
    tool-argument fragments) of one run."""

    # The run's counters (``seq`` over all its events, ``index`` over its tokens)
    # and its event templates, one per kind.
    __slots__ = ("_tpls", "index", "seq")

    seq: int
    index: int
    _tpls: dict[type[BaseEvent], dict[str, Any]]

    if TYPE_CHECKING:  # the run manager's own state
        sender: object
        _t: Tables
        _inline: tuple[tuple[Target, ...], ...]
        _sinks: tuple[AsyncDrain, ...]
        _failures: Failures

        def _make(self, cls: type[BaseEvent], fields: Mapping[str, Any]) -> Any: ...
        def _post(self, event: BaseEvent) -> None: ...

    def wants_tokens(self) -> bool:
        """Whether to build ``NewToken``s for this run; asked once, at its start.

        Asks blinker per sender: a receiver disconnected from this model (but
        still connected to others) does not make every run build tokens.
        """
        return self._t.wanted[_TOKEN] or (
            bool(_TOKEN_SIGNAL.receivers) and _TOKEN_SIGNAL.has_receivers_for(self.sender)
        )

    def _template(self, cls: type[BaseEvent], fields: Mapping[str, Any]) -> dict[str, Any]:
        # The first fragment of its kind builds the template, in field order.
        tpl: dict[str, Any] = self._make(cls, fields).__dict__
        self.seq -= 1
        self._tpls[cls] = tpl
        return tpl

    def token_event(self, text: str, extras: Mapping[str, Any] | None, block: int = 0) -> NewToken:
        """The ``NewToken`` for the next streamed chunk, not delivered (call only
        when :meth:`wants_tokens`); :meth:`token` builds and delivers it."""
        return self.token(text, extras, block, _deliver=False)

    def token(
        self,
        text: str,
        extras: Mapping[str, Any] | None,
        block: int = 0,
        *,
        _deliver: bool = True,
    ) -> NewToken:
        """A text chunk streamed: build its ``NewToken`` and deliver it (sync code;
        call only when :meth:`wants_tokens`). Raises like ``emit``."""
        try:
            data = self._tpls[NewToken].copy()
        except KeyError:
            data = self._template(NewToken, _TOKEN_FIELDS).copy()
        seq = self.seq
        self.seq = seq + 1
        index = self.index
        self.index = index + 1
        data["seq"] = seq
        data["time"] = _time()
        data["monotonic"] = _monotonic()
        data["token"] = text
        data["index"] = index
        if extras is not None:
            data["chunk"] = extras  # checked and frozen where the chunk was built
        if block:
            data["block"] = block
        event: NewToken = new_object(NewToken)  # trusted_event, inlined (see _INLINED)
        set_dict(event, data)
        if _deliver:
            failures = self._failures
            targets = self._inline[_TOKEN]
            if len(targets) == 1:
                entry, fn, _ = targets[0]
                try:
                    fn(event)
                except Exception as exc:
                    failures.record(entry, event, exc)
            else:
                deliver(targets, event, failures)
            if _TOKEN_SIGNAL.receivers or self._sinks or failures.error is not None:
                self._post(event)
        return event

    def atoken(
        self, text: str, extras: Mapping[str, Any] | None, block: int = 0
    ) -> Awaitable[None]:
        """Async :meth:`token` (await it): async hooks are awaited inline."""
        event = self.token(text, extras, block, _deliver=False)
        t = self._t
        # _post only when it has work: a signal receiver, or a failure to raise.
        after = self._post if t.strict or _TOKEN_SIGNAL.receivers else None
        return adeliver(t.ordered[_TOKEN], event, self._failures, after=after)

    def wants_deltas(self) -> bool:
        """Whether to build ``BlockDelta``\\ s for this run (asked once per run)."""
        return self._t.wanted[_DELTA] or bool(_DELTA_SIGNAL.receivers)

    def delta(self, block: int, kind: str, text: str, *, _deliver: bool = True) -> BlockDelta:
        """A reasoning or tool-argument fragment streamed: build its ``BlockDelta``
        and deliver it (sync code; call only when :meth:`wants_deltas`)."""
        try:
            data = self._tpls[BlockDelta].copy()
        except KeyError:
            data = self._template(BlockDelta, _DELTA_FIELDS).copy()
        seq = self.seq
        self.seq = seq + 1
        data["seq"] = seq
        data["time"] = _time()
        data["monotonic"] = _monotonic()
        data["block"] = block
        data["kind"] = kind
        data["delta"] = text
        event: BlockDelta = new_object(BlockDelta)
        set_dict(event, data)
        if _deliver:
            failures = self._failures
            targets = self._inline[_DELTA]
            if len(targets) == 1:
                entry, fn, _ = targets[0]
                try:
                    fn(event)
                except Exception as exc:
                    failures.record(entry, event, exc)
            else:
                deliver(targets, event, failures)
            if _DELTA_SIGNAL.receivers or self._sinks or failures.error is not None:
                self._post(event)
        return event

    def adelta(self, block: int, kind: str, text: str) -> Awaitable[None]:
        """Async :meth:`delta` (await it)."""
        event = self.delta(block, kind, text, _deliver=False)
        t = self._t
        after = self._post if t.strict or _DELTA_SIGNAL.receivers else None
        return adeliver(t.ordered[_DELTA], event, self._failures, after=after)
