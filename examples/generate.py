"""generate() over several prompts: one LLMResult with every generation and the usage.

python examples/generate.py
"""

from streamllm import FakeListLLM, TokenUsage

model = FakeListLLM(
    responses=["Knock knock.", "Why so serious?"],
    usage=TokenUsage.of(prompt_tokens=5, completion_tokens=4),
)

result = model.generate(["Tell me a joke.", "Tell me another."])
for i, generations in enumerate(result.generations):
    print(i, generations[0].text, generations[0].finish_reason)
print(result.usage)
