"""The names :class:`~streamllm.handlers.otel.OpenTelemetryHandler` records under.

From opentelemetry-semantic-conventions 0.66b2 (``gen_ai_attributes``,
``gen_ai_metrics``, ``error_attributes``; a test checks each against the
installed package). Spelled out here because that package marks the gen_ai
names as moved to the GenAI conventions' own repository, and so that this
module needs no OpenTelemetry installed.
"""

from __future__ import annotations

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING = "gen_ai.usage.reasoning.output_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOKEN_TYPE = "gen_ai.token.type"
WORKFLOW_NAME = "gen_ai.workflow.name"
ERROR_TYPE = "error.type"

METRIC_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"

# Not in the conventions: how a failed run ended (cancelled, timeout, failed),
# and a traced chain's inputs and outputs (content: only with capture_content).
REASON = "streamllm.reason"
CHAIN_INPUTS = "streamllm.chain.inputs"
CHAIN_OUTPUTS = "streamllm.chain.outputs"

#: The invocation parameters recorded as request attributes when they are numbers.
REQUEST_PARAMS = (("max_tokens", REQUEST_MAX_TOKENS), ("temperature", REQUEST_TEMPERATURE),
                  ("top_p", REQUEST_TOP_P))  # fmt: skip

#: The usage details (``TokenUsage`` field, attribute) recorded when reported.
USAGE_DETAILS = (("cache_read_tokens", USAGE_CACHE_READ),
                 ("cache_write_tokens", USAGE_CACHE_WRITE),
                 ("reasoning_tokens", USAGE_REASONING))  # fmt: skip

# Bucket boundaries the conventions recommend.
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                     40.96, 81.92)  # fmt: skip
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                  16777216, 67108864)  # fmt: skip
_CHUNK_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                  5.0, 7.5, 10.0)  # fmt: skip

#: The client metrics: (name, unit, description, bucket boundaries).
HISTOGRAMS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    (METRIC_DURATION, "s", "GenAI operation duration.", _DURATION_BUCKETS),
    (METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used.", _TOKEN_BUCKETS),
    (METRIC_TIME_TO_FIRST_CHUNK, "s", "Time to receive the first chunk.", _CHUNK_BUCKETS),
    (METRIC_TIME_PER_OUTPUT_CHUNK, "s", "Time per output chunk.", _CHUNK_BUCKETS),
)
