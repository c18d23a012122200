"""Tools: functions a chat model can call, each call a run of its own (DESIGN.md section 12).

>>> from streamllm.tools import tool
>>> @tool
... def get_weather(city: str) -> str:
...     '''The weather now in a city.'''
...     return f"22 C in {city}"
>>> get_weather.invoke({"city": "Paris"})
'22 C in Paris'

A tool loop: bind the tools, and run each call the model asks for until it
answers; ``tool.invoke(call)`` returns the ``tool`` message to append::

    model = FakeChatModel(responses=[...]).bind_tools([get_weather])
    messages = [("user", "Weather in Paris?")]
    while (reply := model.invoke(messages)).tool_calls:
        messages.append(reply)
        messages += [tools[c.name].invoke(c) for c in reply.tool_calls]
"""

from streamllm.errors import StructuredOutputError, ToolArgumentsError
from streamllm.tools.base import Tool, ToolInput
from streamllm.tools.decorator import tool
from streamllm.tools.message import ToolMessage

__all__ = [
    "StructuredOutputError",
    "Tool",
    "ToolArgumentsError",
    "ToolInput",
    "ToolMessage",
    "tool",
]
