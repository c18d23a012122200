"""HTTP plumbing shared by the providers: wire decoders, error translation,
retries, and the :class:`HTTPProvider` base class."""

from streamllm.http.errors import parse_retry_after, status_error, translate
from streamllm.http.ndjson import NDJSONDecoder
from streamllm.http.provider import ChunkParser, HTTPProvider, HTTPRequest
from streamllm.http.retry import Backoff, is_retryable
from streamllm.http.sse import SSEDecoder, SSEEvent

__all__ = [
    "Backoff",
    "ChunkParser",
    "HTTPProvider",
    "HTTPRequest",
    "NDJSONDecoder",
    "SSEDecoder",
    "SSEEvent",
    "is_retryable",
    "parse_retry_after",
    "status_error",
    "translate",
]
