"""A stream's repeated frame envelope, learned once, to read a token without parsing JSON.

Most servers (llama-server, vLLM, this project's benchmark server) send every
token in the same frame, byte for byte but for the token's own string:
``{"id":"x",...,"delta":{"content":" t1"},"finish_reason":null}]}``. Once a
parser has read one such frame the usual way (and checked what it means), a
:class:`StringSlot` keeps the text before that string (``head``) and after it
(``tail``). A later frame with the same head and tail around one well-formed
JSON string is the same JSON document with another string in that place, so
it means the same thing with that string as its token: reading it is two
comparisons and one string scan instead of a whole JSON parse.

Why that is exact: the head and the tail hold no backslash, so each ``"`` in
them delimits a string token and every key in them is written literally; the
key is found exactly once (no duplicate or escaped twin elsewhere can be the
one the JSON parser keeps); and the middle must scan as exactly one JSON
string (``json``'s own scanner, strict as :func:`json.loads` is) ending where
the tail begins. A frame that differs anywhere else (a changing ``created``,
OpenAI's random ``obfuscation`` field, a finish reason) simply misses and is
parsed as before; a miss costs two prefix comparisons.
"""

from __future__ import annotations

import json.decoder
from collections.abc import Callable
from typing import final

__all__ = ["StringSlot"]

#: ``json``'s string scanner (C when available): ``(text, index after the
#: opening quote) -> (value, index after the closing quote)``, strict.
scanstring: Callable[[str, int], tuple[str, int]] = vars(json.decoder)["scanstring"]

# Relearning is bounded so that a server whose envelope changes every frame
# does not pay a learning step per frame: a new envelope is learned while
# fewer than _FREE were learned, or once the frames read by the envelopes so
# far are at least _HITS per envelope learned.
_FREE = 4
_HITS = 8


@final
class StringSlot:
    """The envelope around the string value of ``key`` in a stream's frames.

    A parser reads a frame through it inline: the frame starts with ``head``
    and ends with ``tail``, and ``scanstring(frame, len(head))`` ends
    ``tail_length`` characters before the end.

    >>> slot = StringSlot("content")
    >>> slot.learn('{"delta":{"content":"Hi"},"n":null}', "Hi")
    True
    >>> slot.head, slot.tail
    ('{"delta":{"content":"', '},"n":null}')
    >>> slot.learn('{"delta":{"content":"Hi","x":"content":1}', "Hi")  # the key twice
    False
    """

    __slots__ = ("_learned", "_marker", "head", "hits", "tail", "tail_length")

    def __init__(self, key: str) -> None:
        self._marker = f'"{key}":'
        self._learned = 0
        #: The frame text up to and with the opening quote of the value (None: none learned).
        self.head: str | None = None
        self.tail = ""
        self.tail_length = 0
        #: Frames read through the envelopes learned (the parser adds its counts).
        self.hits = 0

    def learn(self, payload: str, value: str) -> bool:
        """Take the envelope of ``payload``, a frame already parsed whose
        ``key`` (once only) holds the string ``value``; False when the frame
        does not qualify (or relearning is used up) and nothing was learned."""
        learned = self._learned
        if learned >= _FREE and self.hits < learned * _HITS:
            return False
        marker = self._marker
        at = payload.find(marker)
        if at < 0 or payload.find(marker, at + 1) >= 0:
            return False
        start = at + len(marker)
        if payload[start : start + 1] != '"':
            return False
        try:
            decoded, end = scanstring(payload, start + 1)
        except ValueError:
            return False
        head, tail = payload[: start + 1], payload[end:]
        if decoded != value or "\\" in head or "\\" in tail:
            return False
        self.head, self.tail, self.tail_length = head, tail, len(tail)
        self._learned = learned + 1
        return True
