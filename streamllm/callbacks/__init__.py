"""Handlers, the callback manager, parent runs and where handlers come from.

>>> from streamllm.callbacks import CallbackHandler, traced, tracing

Every name here loads on first use (see ``streamllm/__init__.py``); the
modules are small and named for what they hold: ``base`` (handler classes),
``registry`` (checking handlers when attached), ``deliver`` and ``failures``
(the one delivery path and its failure policy), ``manager`` and ``run`` (the
callback and run managers), ``loop`` (async handlers for sync code),
``background`` (``BackgroundHandler``), ``context`` (global and scoped
handlers), ``chain`` and ``parent_runs`` (``traced``), ``env``
(``STREAMLLM_TRACING``). No module is named like an exported name: importing
the module would replace the name on the package.
"""

from typing import TYPE_CHECKING

from streamllm._lazy import lazy_exports

if TYPE_CHECKING:
    from streamllm.callbacks.background import BackgroundHandler, Overflow
    from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler, HandlerWrapper
    from streamllm.callbacks.chain import ChainRun
    from streamllm.callbacks.context import (
        add_global_handler,
        copy_context_executor,
        remove_global_handler,
        set_global_handlers,
        tracing,
    )
    from streamllm.callbacks.env import reset_env_tracing
    from streamllm.callbacks.failures import HandlerFailures, handler_failures
    from streamllm.callbacks.loop import shutdown
    from streamllm.callbacks.manager import CallbackManager
    from streamllm.callbacks.parent_runs import Traced, traced
    from streamllm.callbacks.registry import Handler
    from streamllm.callbacks.run import RunManager

# The one table: name -> module. __all__ and the TYPE_CHECKING block follow it
# (tests/callbacks/test_package.py checks they agree).
_LAZY = {
    "AsyncCallbackHandler": "streamllm.callbacks.base",
    "BackgroundHandler": "streamllm.callbacks.background",
    "CallbackHandler": "streamllm.callbacks.base",
    "CallbackManager": "streamllm.callbacks.manager",
    "ChainRun": "streamllm.callbacks.chain",
    "Handler": "streamllm.callbacks.registry",
    "HandlerFailures": "streamllm.callbacks.failures",
    "HandlerWrapper": "streamllm.callbacks.base",
    "Overflow": "streamllm.callbacks.background",
    "RunManager": "streamllm.callbacks.run",
    "Traced": "streamllm.callbacks.parent_runs",
    "add_global_handler": "streamllm.callbacks.context",
    "copy_context_executor": "streamllm.callbacks.context",
    "handler_failures": "streamllm.callbacks.failures",
    "remove_global_handler": "streamllm.callbacks.context",
    "reset_env_tracing": "streamllm.callbacks.env",
    "set_global_handlers": "streamllm.callbacks.context",
    "shutdown": "streamllm.callbacks.loop",
    "traced": "streamllm.callbacks.parent_runs",
    "tracing": "streamllm.callbacks.context",
}

__all__ = [
    "AsyncCallbackHandler",
    "BackgroundHandler",
    "CallbackHandler",
    "CallbackManager",
    "ChainRun",
    "Handler",
    "HandlerFailures",
    "HandlerWrapper",
    "Overflow",
    "RunManager",
    "Traced",
    "add_global_handler",
    "copy_context_executor",
    "handler_failures",
    "remove_global_handler",
    "reset_env_tracing",
    "set_global_handlers",
    "shutdown",
    "traced",
    "tracing",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
