"""Grounding through any OpenAI-compatible chat-completions server (``vllm serve``,
``transformers serve``, SGLang, …).

One ``ground`` call POSTs ``/v1/chat/completions`` with the image as a data URI (JPEG quality 95
by default — see bench/grounding.py; ``image_format="png"`` sends exactly the pixels an
in-process model would see), the task prompt, ``n`` = samples, the temperature and
``extra_body`` (server-specific fields). Fewer choices than asked (``transformers serve`` ignores
``n``) are topped up by further requests. A server's reasoning split (``reasoning_content`` /
``reasoning``) is folded back into ``<think>…</think>`` so the parser sees the model's text.

Failures are :class:`~realvlg.grounding.backend.BackendError` with the URL and the cause, raised
within ``timeout`` seconds of the call (the deadline covers all attempts; a server trickling
bytes can add at most one read timeout): connection refused, no answer in time, HTTP 5xx / 429
(retried ``retries`` times with exponential backoff while time is left), other HTTP errors (not
retried), a body that is not a chat completion. The API key, when the server wants one, comes
from the environment variable named by ``api_key_env`` (default ``OPENAI_API_KEY``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import httpx2
from PIL import Image

from realvlg.grounding.backend import BackendError
from realvlg.grounding.vlm import ModelSettings, Segmenter, VLMBackend, encode_data_uri

RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class OpenAIBackendConfig:
    """Where the server is and how patiently to ask it. ``timeout`` [s] bounds a whole ``ground``
    call; ``backoff`` [s] is the first retry's wait, doubled per retry."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "RealVLG-R1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    connect_timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.5
    image_format: str = "jpeg"   # 3 ms and 0.3 MB for 1280x720; "png" is lossless (60 ms, 1.6 MB)
    extra_body: dict = field(default_factory=dict)  # server-specific fields, e.g. vLLM {"top_k": 20}
    settings: ModelSettings = field(default_factory=ModelSettings)


class OpenAIBackend(VLMBackend):
    """:class:`~realvlg.grounding.vlm.VLMBackend` over HTTP (see the module docstring)."""

    name = "openai"

    def __init__(self, config: OpenAIBackendConfig, segmenter: Segmenter | None = None) -> None:
        super().__init__(config.model, config.settings, segmenter)
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if key := os.environ.get(config.api_key_env):
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx2.Client(headers=headers)

    def close(self) -> None:
        self._client.close()

    def request_body(self, images: list[Image.Image], prompt: str, samples: int, temperature: float) -> dict:
        """The chat-completions request for the images (in order) + prompt."""
        content = [{"type": "image_url", "image_url": {"url": encode_data_uri(image, self.config.image_format)}}
                   for image in images]
        content.append({"type": "text", "text": prompt})
        body = {"model": self.config.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.settings.max_new_tokens, "temperature": temperature}
        if samples > 1:
            body["n"] = samples
        if temperature > 0 and self.settings.top_p < 1:
            body["top_p"] = self.settings.top_p
        return body | self.config.extra_body

    def generate(self, images: list[Image.Image], prompt: str, samples: int, temperature: float) -> list[str]:
        deadline = time.monotonic() + self.config.timeout
        body = self.request_body(images, prompt, samples, temperature)
        texts: list[str] = []
        for _ in range(samples):  # each round returns ≥ 1 choice, so this bounds the top-ups
            missing = samples - len(texts)
            if missing == 0:
                break
            if missing > 1:
                body["n"] = missing
            else:
                body.pop("n", None)
            texts += self._post(body, deadline)[:missing]
        return texts

    def _post(self, body: dict, deadline: float) -> list[str]:
        """One request (with retries) → the texts of its choices."""
        payload = json.dumps(body).encode()
        wait, attempts, cause = self.config.backoff, 0, "the deadline passed before the first attempt"
        while (remaining := deadline - time.monotonic()) > 0:
            attempts += 1
            try:
                return self._attempt(payload, deadline, remaining)
            except _Retryable as exc:
                cause = str(exc)
            if attempts > self.config.retries or deadline - time.monotonic() <= wait:
                break
            time.sleep(wait)
            wait *= 2
        raise BackendError(f"{self.url}: no usable answer within {self.config.timeout:g} s "
                           f"after {attempts} attempt(s): {cause}")

    def _attempt(self, payload: bytes, deadline: float, remaining: float) -> list[str]:
        timeout = httpx2.Timeout(remaining, connect=min(self.config.connect_timeout, remaining))
        try:
            with self._client.stream("POST", self.url, content=payload, timeout=timeout) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Retryable(f"the answer was still arriving after {self.config.timeout:g} s")
                raw = b"".join(chunks)
        except httpx2.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx2.TransportError as exc:
            raise _Retryable(f"cannot reach the server ({type(exc).__name__}: {exc})") from exc
        if response.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}: {_snippet(raw)}")
        if response.status_code != 200:
            raise BackendError(f"{self.url}: HTTP {response.status_code}: {_snippet(raw)}")
        return _choice_texts(raw, self.url)


class _Retryable(Exception):
    """A failure worth another attempt (transport error, timeout, 5xx / 429)."""


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "") if text else "(empty body)"


def _choice_texts(raw: bytes, url: str) -> list[str]:
    """The model texts of a chat-completion body; reasoning fields become ``<think>…</think>``."""
    try:
        data = json.loads(raw)
        choices = data["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError("no choices")
        texts = []
        for choice in choices:
            message = choice["message"]
            text = message.get("content") or ""
            if not isinstance(text, str):
                raise ValueError("content is not a string")
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if isinstance(reasoning, str) and reasoning and "<think>" not in text:
                text = f"<think>{reasoning}</think>\n{text}"
            texts.append(text)
        return texts
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackendError(f"{url}: the body is not a chat completion ({exc}): {_snippet(raw)}") from exc
