"""The wire: decoders, stream parsing, error translation, retries, deadlines,
and the sync and async attempt loops over httpx. No model lives here: the
:class:`~streamllm.models.http.HTTPProvider` base class is in ``streamllm.models``."""

from streamllm.http.errors import parse_retry_after, status_error, translate
from streamllm.http.ndjson import NDJSONDecoder
from streamllm.http.parser import ChunkParser, FrameParser, HTTPRequest
from streamllm.http.retry import Backoff, is_retryable
from streamllm.http.sse import SSEDecoder, SSEEvent

__all__ = [
    "Backoff",
    "ChunkParser",
    "FrameParser",
    "HTTPRequest",
    "NDJSONDecoder",
    "SSEDecoder",
    "SSEEvent",
    "is_retryable",
    "parse_retry_after",
    "status_error",
    "translate",
]
