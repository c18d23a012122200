"""Per-run dispatch tables are reused for the same handlers, never across a
change in which handlers are hung."""

from __future__ import annotations

from streamllm.callbacks import loop
from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.callbacks.registry import resolve_all
from streamllm.callbacks.tables import tables_for
from streamllm.events import NewToken


class Sync(CallbackHandler):
    def on_llm_new_token(self, event: NewToken) -> None:
        pass


class Async(AsyncCallbackHandler):
    async def on_llm_new_token(self, event: NewToken) -> None:
        pass


def test_the_same_entries_get_the_same_tables_per_mode() -> None:
    entries = resolve_all([Sync()])
    assert tables_for(entries, "sync") is tables_for(entries, "sync")
    assert tables_for(entries, "async") is not tables_for(entries, "sync")
    # An equal but different tuple of entries is not mistaken for a cached one.
    other = resolve_all([Sync()])
    assert tables_for(other, "sync") is not tables_for(entries, "sync")


def test_a_handler_marked_hung_gets_fresh_tables_in_sync_runs() -> None:
    handler = Async()
    entries = resolve_all([handler])
    before = tables_for(entries, "sync")
    assert before.has_drain
    assert not before.has_stray
    loop._hung[id(handler)] = handler
    try:
        after = tables_for(entries, "sync")
        assert after.has_stray
        assert not after.has_drain
    finally:
        loop._hung.pop(id(handler), None)
    assert tables_for(entries, "sync").has_drain
