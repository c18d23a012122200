"""ResultCollector: each run's LLMResult, rebuilt from its events."""

from __future__ import annotations

import threading
from uuid import UUID

from streamllm.callbacks.base import CallbackHandler
from streamllm.chat.blocks import Block
from streamllm.events import BlockEnd, LLMEnd, LLMError, NewToken
from streamllm.outputs import Generation, LLMResult

__all__ = ["ResultCollector"]


#: Tokens kept as separate strings before they are joined into one block: a
#: str per token costs several times its text (issue 11.10).
BLOCK = 512


class _Text:
    """One run's streamed text: joined blocks, and the tokens since the last one."""

    __slots__ = ("blocks", "tokens")

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.tokens: list[str] = []

    def add(self, token: str) -> None:
        tokens = self.tokens
        tokens.append(token)
        if len(tokens) >= BLOCK:
            self.blocks.append("".join(tokens))
            tokens.clear()

    def text(self, reported: str) -> str:
        """The streamed text. When it spells exactly ``reported`` (the terminal
        event's text), that str is shared rather than joined again: checked
        block by block, so the result never rests on the report alone, and a
        long run does not hold its text twice more (issue 11.10)."""
        blocks = self.blocks
        blocks.append("".join(self.tokens))
        self.tokens.clear()
        at = 0
        for block in blocks:
            if not reported.startswith(block, at):
                return "".join(blocks)
            at += len(block)
        return reported if at == len(reported) else "".join(blocks)


def _rebuild(
    run_id: UUID, streamed: _Text | None, blocks: dict[int, Block] | None, source: LLMResult
) -> LLMResult:
    # A run that streamed no token either produced no text or came from a
    # provider that does not stream (no NewToken at all): then the terminal
    # event's text is the only record of it.
    text = streamed.text(source.text) if streamed is not None else source.text
    first = source.generations[0][0] if source.generations and source.generations[0] else None
    generation = Generation(
        text=text,
        finish_reason=first.finish_reason if first is not None else None,
        provider_finish_reason=first.provider_finish_reason if first is not None else None,
    )
    message = source.message
    if message is not None:
        # The content is the blocks the run's BlockEnd events carried, in block
        # order (a failed run: the blocks that had ended); id, usage, finish
        # reason and metadata come from the terminal event, like the text's.
        ended = blocks or {}
        message = message.model_copy(
            update={"content_blocks": tuple(ended[i] for i in sorted(ended))}
        )
    return LLMResult(
        generations=((generation,),),
        message=message,
        usage=source.usage,
        model=source.model,
        run_ids=source.run_ids or (run_id,),
        retries=source.retries,
    )


class ResultCollector(CallbackHandler):
    """Keeps an :class:`LLMResult` per run, rebuilt from the events alone.

    The text comes from the run's ``NewToken`` events (joined in blocks as
    they come, so a long stream costs about its text in memory); usage, finish
    reason, model and retries from its terminal event. For a chat run,
    ``result.message`` is an ``AIMessage`` whose blocks are the ones its
    ``BlockEnd`` events carried (equal to the message ``LLMEnd`` carries). For a run that failed or
    was abandoned, the result holds what had streamed (the partial) and
    ``errors`` holds its ``LLMError``.

    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import ResultCollector
    >>> collector = ResultCollector()
    >>> _ = FakeListLLM(responses=["Hi there"]).invoke("Hello", callbacks=[collector])
    >>> [r.text for r in collector.results.values()]
    ['Hi there']
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[UUID, _Text] = {}
        self._results: dict[UUID, LLMResult] = {}
        self._errors: dict[UUID, LLMError] = {}
        self._blocks: dict[UUID, dict[int, Block]] = {}

    def on_llm_new_token(self, event: NewToken) -> None:
        # dict.get is atomic; the lock is only needed to create a run's list.
        streamed = self._tokens.get(event.run_id)
        if streamed is None:
            with self._lock:
                streamed = self._tokens.setdefault(event.run_id, _Text())
        # One run's tokens arrive in order from one thread or task at a time.
        streamed.add(event.token)

    def on_block_end(self, event: BlockEnd) -> None:
        with self._lock:
            self._blocks.setdefault(event.run_id, {})[event.block] = event.content

    def on_llm_end(self, event: LLMEnd) -> None:
        with self._lock:
            tokens = self._tokens.pop(event.run_id, None)
            blocks = self._blocks.pop(event.run_id, None)
        result = _rebuild(event.run_id, tokens, blocks, event.result)
        with self._lock:
            self._results[event.run_id] = result

    def on_llm_error(self, event: LLMError) -> None:
        with self._lock:
            tokens = self._tokens.pop(event.run_id, None)
            blocks = self._blocks.pop(event.run_id, None)
        result = _rebuild(event.run_id, tokens, blocks, event.partial)
        with self._lock:
            self._results[event.run_id] = result
            self._errors[event.run_id] = event

    @property
    def results(self) -> dict[UUID, LLMResult]:
        """Run id to its result, in the order the runs ended (a copy)."""
        with self._lock:
            return dict(self._results)

    @property
    def errors(self) -> dict[UUID, LLMError]:
        """Run id to the ``LLMError`` of each run that failed or was abandoned."""
        with self._lock:
            return dict(self._errors)

    def clear(self) -> None:
        """Forget every finished run (runs in flight keep their tokens)."""
        with self._lock:
            self._results.clear()
            self._errors.clear()
