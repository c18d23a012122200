"""The two-way bridge to LangChain (extra ``[langchain]``: langchain-core is its only dependency).

Migrate one handler at a time, in either direction:

- :func:`from_langchain` makes a langchain-core callback handler a streamllm
  handler: it receives streamllm's runs as LangChain callbacks
  (``on_llm_start`` / ``on_chat_model_start``, ``on_llm_new_token`` with its
  chunk, ``on_llm_end`` with a LangChain ``LLMResult``, errors, chains, tools)::

      from langchain_core.callbacks import StreamingStdOutCallbackHandler
      model.invoke("Hi", callbacks=[from_langchain(StreamingStdOutCallbackHandler())])

- :class:`StreamLLMCallbackHandler` is a langchain-core handler that turns a
  LangChain or LangGraph app's callbacks into streamllm events, so streamllm's
  handlers (``TokenCounter``, ``JSONLRecorder``, ``OpenTelemetryHandler``, a
  bus publisher) observe it unchanged::

      chain.invoke(question, config={"callbacks": [StreamLLMCallbackHandler([counter])]})
"""

from __future__ import annotations

from streamllm.integrations._callback_handler import (
    AsyncStreamLLMCallbackHandler,
    StreamLLMCallbackHandler,
)
from streamllm.integrations._to_langchain import RunError
from streamllm.integrations._wrapped_handler import (
    AsyncLangChainHandler,
    LangChainHandler,
    from_langchain,
)

__all__ = [
    "AsyncLangChainHandler",
    "AsyncStreamLLMCallbackHandler",
    "LangChainHandler",
    "RunError",
    "StreamLLMCallbackHandler",
    "from_langchain",
]
