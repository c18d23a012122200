"""Chat messages, the other kind of model input besides a prompt string.

There is one input message class, :class:`~streamllm.chat.inputs.Message`
(roles system, user, assistant and tool; ``human`` and ``ai`` as aliases;
content a str or a tuple of blocks; an assistant's ``tool_calls``, a tool
message's ``tool_call_id``). It lives with the other chat data; this module,
its first home, re-exports it, and :func:`to_messages` is
:func:`~streamllm.chat.inputs.to_chat_messages`::

    >>> [m.role for m in to_messages([("human", "Hi"), {"role": "ai", "content": "Hello"}])]
    ['user', 'assistant']

A provider that sends only text reads ``message.text`` (the text blocks
joined), never ``message.content``, which may hold blocks.
"""

from __future__ import annotations

from streamllm.chat.inputs import ChatInput, Message, Role, to_chat_messages

__all__ = ["ChatInput", "Message", "Role", "to_messages"]

#: Validate a conversation (see :func:`streamllm.chat.inputs.to_chat_messages`).
to_messages = to_chat_messages
