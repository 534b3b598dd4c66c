"""``openai``: any server speaking the OpenAI API (vLLM, Ollama, llama.cpp's server, a
hosted one), over httpx: ``/completions`` (raw text, the default) or ``/chat/completions``.

A connection error, a timeout, a 429 or a 5xx is retried ``retries`` times with
exponential back-off, then raised as ``llm_unavailable``; an answer that is not a chat
completion (or a 4xx: the request itself was refused) is ``llm_bad_response``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from vitrina.errors import ConfigError
from vitrina.llm.base import (
    APIS,
    Generated,
    LlmBadResponse,
    LlmUnavailable,
    check_request,
    full_prompt,
    prompt_sha256,
)

_RETRIED_STATUS = {408, 429, 500, 502, 503, 504}


class OpenAICompatible:
    name = "openai"
    model = ""

    def __init__(self, base_url: str, model: str = "", *, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 2, backoff: float = 0.5,
                 api: str = "completions") -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"llm.base_url must be an http(s) URL, got {base_url!r}",
                              details={"setting": "llm.base_url"})
        if api not in APIS:
            raise ConfigError(f"llm.api must be one of {', '.join(APIS)}, got {api!r}",
                              details={"setting": "llm.api"})
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ConfigError("llm: timeout must be positive, retries and back-off not negative")
        self.base_url = base_url.rstrip("/")
        self.model, self.api = model, api
        self.retries, self.backoff = retries, backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                                    headers=headers)

    @classmethod
    def configure(cls, settings: Any, **overrides: Any) -> OpenAICompatible:
        llm = settings.llm
        values = {"base_url": llm.base_url, "model": llm.model, "api_key": llm.api_key or None,
                  "timeout": llm.timeout_seconds, "retries": llm.retries, "api": llm.api}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(values.pop("base_url"), **values)

    def close(self) -> None:
        self._client.close()

    def generate(self, prompt: str, *, system: str | None = None, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int | None = 0,
                 stop: Sequence[str] | None = None) -> Generated:
        stops = check_request(prompt, system, max_tokens, temperature, stop)
        model = self.resolve_model()
        body: dict[str, Any] = {"model": model, "max_tokens": max_tokens,
                                "temperature": temperature}
        if self.api == "chat":
            body["messages"] = ([{"role": "system", "content": system}] if system else []) + \
                [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = full_prompt(prompt, system)
        if seed is not None:
            body["seed"] = seed
        if stops:
            body["stop"] = stops
        start = time.perf_counter()
        answer = self._request("POST", "/chat/completions" if self.api == "chat" else "/completions",
                               body)
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"] if self.api == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            where = "choices[0].message.content" if self.api == "chat" else "choices[0].text"
            raise LlmBadResponse(f"the text generator's answer has no {where}",
                                 details={"url": self.base_url}) from None
        if not isinstance(text, str):
            raise LlmBadResponse("the text generator's completion is not text",
                                 details={"url": self.base_url})
        return Generated(text, model, self.name, prompt_sha256(prompt, system), seed,
                         time.perf_counter() - start)

    def resolve_model(self) -> str:
        """The model asked for: the one named, else the server's first (asked once)."""
        return self.model or self._first_model()

    def _first_model(self) -> str:
        """The server's first model, when none was named (a llama.cpp or vLLM server
        serving one model); remembered."""
        answer = self._request("GET", "/models", None)
        try:
            self.model = str(answer["data"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise LlmBadResponse("the server lists no model at /models; name one (--model)",
                                 details={"url": self.base_url}) from None
        return self.model

    def _request(self, method: str, path: str, body: dict | None) -> dict:
        url = self.base_url + path
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TimeoutException:
                last = "timed out"
                continue
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"[:200]
                continue
            if response.status_code in _RETRIED_STATUS:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise LlmBadResponse(f"the text generator refused the request: HTTP "
                                     f"{response.status_code}",
                                     details={"url": url, "status": response.status_code,
                                              "body": response.text[:300]})
            try:
                data = response.json()
            except ValueError:
                raise LlmBadResponse("the text generator's answer is not JSON",
                                     details={"url": url, "body": response.text[:300]}) from None
            if not isinstance(data, dict):
                raise LlmBadResponse("the text generator's answer is not a JSON object",
                                     details={"url": url})
            return data
        raise LlmUnavailable(f"the text generator at {self.base_url} is unavailable ({last}) "
                             f"after {self.retries + 1} attempt(s)",
                             details={"url": url, "attempts": self.retries + 1, "last": last})
