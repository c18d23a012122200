"""Chat answers as each vendor streams them, for :class:`~tests.servers.vendor_server.VendorServer`.

Each answer is reasoning, a line of text and two tool calls, one of whose
arguments are not a JSON object, with the usage details each vendor reports.
The frames follow the vendors' documented streaming formats: OpenAI's chat
completion chunks (``stream_options.include_usage``: ``"usage": null`` on every
chunk and a last chunk with empty ``choices``), Anthropic's Messages stream
events, Ollama's ``/api/chat`` NDJSON lines. :data:`CUT_MID_CALL` says after
how many frames each answer is inside a tool call, for the fault tests.
"""

from __future__ import annotations

from typing import Any

REASONING = ("Two cities:", " call the tool", " twice.")
TEXT = ("Checking ", "both.")
GOOD_ARGS = ('{"city": ', '"Paris"}')
CALL_A = ("call_a", "weather")
CALL_B = ("call_b", "weather")

# -- OpenAI-compatible chat completions ----------------------------------------

#: Not JSON at all: the model wrote an unquoted value.
OPENAI_BAD_ARGS = ('{"city": ', "London, ", "unit: celsius}")
OPENAI_USAGE = {
    "prompt_tokens": 31,
    "completion_tokens": 52,
    "total_tokens": 83,
    "prompt_tokens_details": {"cached_tokens": 12, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 20,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-7",
        "object": "chat.completion.chunk",
        "created": 1733097600,
        "model": "gpt-x",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def _call(index: int, args: str, first: tuple[str, str] | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if first is not None:
        call["id"], call["type"], call["function"]["name"] = first[0], "function", first[1]
    return call


def openai_frames(reasoning_field: str = "reasoning_content") -> list[dict[str, Any]]:
    """Reasoning (``reasoning_content`` as llama-server, vLLM and DeepSeek send it, or
    ``reasoning`` as OpenRouter does), text, then two calls whose fragments interleave
    by ``index`` (one frame carries a fragment of each), the second's arguments not JSON."""
    role = _chunk({"role": "assistant", "content": None, reasoning_field: ""})
    frames = [role]
    frames += [_chunk({reasoning_field: r}) for r in REASONING]
    frames += [_chunk({"content": t}) for t in TEXT]
    frames += [
        _chunk({"tool_calls": [_call(0, "", CALL_A)]}),
        _chunk({"tool_calls": [_call(1, "", CALL_B)]}),
        _chunk({"tool_calls": [_call(0, GOOD_ARGS[0])]}),
        _chunk({"tool_calls": [_call(1, OPENAI_BAD_ARGS[0]), _call(0, GOOD_ARGS[1])]}),
        _chunk({"tool_calls": [_call(1, OPENAI_BAD_ARGS[1])]}),
        _chunk({"tool_calls": [_call(1, OPENAI_BAD_ARGS[2])]}),
        _chunk({}, "tool_calls"),
    ]
    last = _chunk({})
    last["choices"], last["usage"] = [], OPENAI_USAGE
    return [*frames, last]


# -- Anthropic Messages --------------------------------------------------------

#: Valid JSON, but an array: not the object a tool's input must be.
ANTHROPIC_BAD_ARGS = ('["London", ', '"UK"]')
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
ANTHROPIC_INPUT = {"input_tokens": 472, "cache_creation_input_tokens": 100}
ANTHROPIC_INPUT |= {"cache_read_input_tokens": 2048}
ANTHROPIC_OUTPUT_TOKENS = 89


def _delta(index: int, kind: str, **fields: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def _block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _tool_use(index: int, call: tuple[str, str], parts: tuple[str, ...]) -> list[dict[str, Any]]:
    block = {"type": "tool_use", "id": call[0], "name": call[1], "input": {}}
    # The first input_json_delta is often empty; the partial JSON follows.
    pieces = ("", *parts)
    return [
        _block(index, block),
        *(_delta(index, "input_json_delta", partial_json=p) for p in pieces),
        _stop(index),
    ]


def server_tool_blocks(index: int) -> list[dict[str, Any]]:
    """A web search Anthropic runs itself: a ``server_tool_use`` block whose input
    streams as ``input_json_delta`` like a client tool's, then its result block."""
    use = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    return [
        _block(index, use),
        _delta(index, "input_json_delta", partial_json='{"query": '),
        _delta(index, "input_json_delta", partial_json='"weather Paris"}'),
        _stop(index),
        _block(index + 1, result),
        _stop(index + 1),
    ]


def anthropic_frames(server_tool: bool = False, full_usage: bool = False) -> list[dict[str, Any]]:
    """message_start (cached input counts), a thinking block (thinking_delta, then
    signature_delta), a text block, two tool_use blocks (the second's input an
    array), message_delta (stop_reason tool_use, output tokens), message_stop.

    ``server_tool`` puts a server tool's blocks (:func:`server_tool_blocks`) after
    the text, numbered on the wire as Anthropic numbers every block. ``full_usage``:
    message_delta repeats the input and cache counts beside the output tokens, as
    the API does now (all cumulative)."""
    shift = 2 if server_tool else 0
    message: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-sonnet-4-5",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**ANTHROPIC_INPUT, "output_tokens": 2},
    }
    return [
        {"type": "message_start", "message": message},
        _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
        {"type": "ping"},
        *(_delta(0, "thinking_delta", thinking=r) for r in REASONING),
        _delta(0, "signature_delta", signature=SIGNATURE),
        _stop(0),
        _block(1, {"type": "text", "text": ""}),
        *(_delta(1, "text_delta", text=t) for t in TEXT),
        _stop(1),
        *(server_tool_blocks(2) if server_tool else []),
        *_tool_use(2 + shift, ("toolu_a", "weather"), GOOD_ARGS),
        *_tool_use(3 + shift, ("toolu_b", "weather"), ANTHROPIC_BAD_ARGS),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {
                **(ANTHROPIC_INPUT if full_usage else {}),
                "output_tokens": ANTHROPIC_OUTPUT_TOKENS,
            },
        },
        {"type": "message_stop"},
    ]


# -- Ollama /api/chat ----------------------------------------------------------

OLLAMA_COUNTS = {"prompt_eval_count": 42, "eval_count": 17}
_CREATED = "2026-12-02T10:00:00.000000Z"


def _line(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "qwen3",
        "created_at": _CREATED,
        "message": {"role": "assistant", "content": "", **message},
        "done": False,
    }


def ollama_frames(bad_args: Any = None, one_call_a_line: bool = False) -> list[dict[str, Any]]:
    """``message.thinking`` lines, ``message.content`` lines, one line with two whole
    calls (arguments as objects; the first with the ``id`` and ``index`` newer
    servers add), then the done line with ``done_reason`` and the counts.

    ``bad_args`` replaces the second call's arguments (Ollama itself always sends an
    object; some compatible servers send a string). ``one_call_a_line``: each call
    on a line of its own, as Ollama also streams them."""
    calls: list[dict[str, Any]] = [
        {
            "id": "call_o1",
            "function": {"index": 0, "name": "weather", "arguments": {"city": "Paris"}},
        },
        {"function": {"name": "weather", "arguments": {"city": "London"}}},
    ]
    if bad_args is not None:
        calls[1]["function"]["arguments"] = bad_args
    done = {
        "model": "qwen3",
        "created_at": _CREATED,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 4353619900,
        "load_duration": 63915300,
        "prompt_eval_duration": 246847000,
        "eval_duration": 4032296000,
        **OLLAMA_COUNTS,
    }
    return [
        *(_line({"thinking": r}) for r in REASONING),
        *(_line({"content": t}) for t in TEXT),
        *([_line({"tool_calls": [c]}) for c in calls] if one_call_a_line else []),
        *([] if one_call_a_line else [_line({"tool_calls": calls})]),
        done,
    ]


#: After this many frames each answer is inside a tool call: OpenAI with both calls
#: started and the first one's arguments half sent, Anthropic inside the first
#: tool_use block (``{"city": `` sent), Ollama (whole calls) just before the line
#: that carries them (the fault tests send half of that line).
CUT_MID_CALL = {"openai": 9, "anthropic": 15, "ollama": 5}
