"""The seed's first snippet: iterate model.stream() and print each chunk.

python examples/stream.py
"""

from streamllm import FakeListLLM

model = FakeListLLM(responses=["Q: What did the fish say when it hit the wall?\nA: Dam!"])

for chunk in model.stream("Tell me a joke."):
    print(chunk)
