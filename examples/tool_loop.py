"""A tool loop in a few lines, printed as the tree of runs it made.

The model (scripted here) asks for two tools, gets their answers, then
answers; ``traced`` makes the whole loop one trace, with each model call and
each tool call a run of its own under it.

python examples/tool_loop.py
"""

import json

from streamllm import FakeChatModel, traced
from streamllm.testing import RecordingHandler
from streamllm.tools import tool


@tool
def get_weather(city: str) -> str:
    """The weather now in a city.

    Args:
        city: The city's name.
    """
    return f"22 C and sunny in {city}"


@tool
def local_time(city: str) -> str:
    """The local time in a city."""
    return "14:05"


tools = {t.name: t for t in (get_weather, local_time)}
model = FakeChatModel(
    responses=[
        {
            "text": "Let me look.",
            "tool_calls": [
                {"name": "get_weather", "args": {"city": "Paris"}},
                {"name": "local_time", "args": {"city": "Paris"}},
            ],
        },
        "It is 14:05 in Paris, 22 C and sunny.",
    ]
).bind_tools(tools.values())

recorder = RecordingHandler()


@traced(callbacks=[recorder])
def ask(question: str) -> str:
    messages: list = [("user", question)]
    while (reply := model.invoke(messages)).tool_calls:
        messages.append(reply)
        messages += [tools[call.name].invoke(call) for call in reply.tool_calls]
    return reply.text


print(ask("What is the weather in Paris, and the time?"))

# The tree of runs, each indented under its parent: what it was and how it ended.
runs: dict = {}
for event in recorder.events:
    runs.setdefault(event.run_id, []).append(event)
depth: dict = {}
for run_id, events in runs.items():
    first, last = events[0], events[-1]
    depth[run_id] = depth.get(first.parent_run_id, -1) + 1
    if first.type == "tool_start":
        line = f"tool {first.name}({json.dumps(dict(first.args))}) -> {last.output!r}"
    elif first.type == "llm_start":
        calls = len(last.result.message.tool_calls)
        line = f"llm {first.name} -> {f'{calls} tool call(s)' if calls else 'answer'}"
    else:
        line = f"chain {first.name} -> {last.type}"
    print("  " * depth[run_id] + line)
