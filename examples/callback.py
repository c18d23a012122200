"""The seed's second snippet: streaming=True and a handler printing each token.

python examples/callback.py
"""

from streamllm import FakeListLLM, NewToken

model = FakeListLLM(
    responses=["Q: Why did the chicken cross the playground?\nA: To get to the other slide."],
    streaming=True,
)


def print_token(event: NewToken) -> None:
    print({"token": event.token})


response = model.invoke("Tell me a joke.", callbacks=[{"on_llm_new_token": print_token}])
print(response)
