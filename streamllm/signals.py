"""Blinker signals, one per event type, sent from the same dispatch as handlers.

The sender is the model instance (``None`` for chain events), so::

    from streamllm import signals

    @signals.llm_end.connect_via(model)
    def on_end(sender, event):
        ...

listens to one model, and ``signals.llm_end.connect(fn)`` to every model.
Blinker holds receivers through weak references by default: a closure or
lambda connected without ``weak=False`` disappears when nothing else holds it.
A receiver that raises is isolated like a handler (logged once per run,
counted); blinker on its own would stop at it. A signal with no receivers
costs one boolean check per event.
"""

from __future__ import annotations

from blinker import NamedSignal, Namespace

from streamllm.events import HOOKS

__all__ = [
    "SIGNALS",
    "chain_end",
    "chain_error",
    "chain_start",
    "llm_end",
    "llm_error",
    "llm_new_token",
    "llm_start",
    "namespace",
    "signal_name",
]

namespace = Namespace()

llm_start: NamedSignal = namespace.signal("llm_start", doc="A model run started.")
llm_new_token: NamedSignal = namespace.signal("llm_new_token", doc="A token streamed.")
llm_end: NamedSignal = namespace.signal("llm_end", doc="A model run finished.")
llm_error: NamedSignal = namespace.signal("llm_error", doc="A model run failed or was abandoned.")
chain_start: NamedSignal = namespace.signal("chain_start", doc="A parent run started.")
chain_end: NamedSignal = namespace.signal("chain_end", doc="A parent run finished.")
chain_error: NamedSignal = namespace.signal("chain_error", doc="A parent run failed.")


def signal_name(hook: str) -> str:
    """The signal of a hook: ``on_llm_end`` is sent as ``llm_end``."""
    return hook.removeprefix("on_")


#: One signal per event class, indexed like :data:`streamllm.events.EVENT_CLASSES`.
#: Derived from the classes' hook names, so a new event kind gets its signal
#: (``namespace.signal`` returns the same object for the same name).
SIGNALS: tuple[NamedSignal, ...] = tuple(namespace.signal(signal_name(h)) for h in HOOKS)


def __getattr__(name: str) -> NamedSignal:
    # Signals of event kinds added after the ones named above, by their name.
    if name in {signal_name(h) for h in HOOKS}:
        return namespace.signal(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
