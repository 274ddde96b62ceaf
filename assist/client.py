"""The one place Scriptorium calls a model: chat completions on an OpenAI-compatible
endpoint through the official ``openai`` package.

One client per endpoint per process (made on first use, so each Celery worker process
has its own connection pool); no retries inside the client (runs retry themselves,
honouring ``Retry-After``); redirects are not followed; every error becomes a
:class:`ModelError` whose message a person understands. Model calls run in Celery tasks
only, never in a web request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from assist.outbound import OutboundRefused, check_url


@dataclass(frozen=True)
class Target:
    """What a call needs to know about its endpoint (a snapshot, not the row)."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    finish_reason: str = ""


class ModelError(Exception):
    """A call that did not give an answer. ``retryable`` errors (timeouts, 429, 5xx,
    refused connections) may succeed later; ``retry_after`` is the server's hint in
    seconds, when it gave one."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


_clients: dict[tuple[str, str, float], openai.OpenAI] = {}
_lock = threading.Lock()


def _client(target: Target) -> openai.OpenAI:
    key = (target.base_url, target.api_key, target.timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            timeout = httpx2.Timeout(target.timeout, connect=min(10.0, target.timeout))
            client = openai.OpenAI(
                base_url=target.base_url,
                # The package insists on a key; local servers ignore it.
                api_key=target.api_key or "no-key",
                timeout=timeout,
                max_retries=0,
                http_client=httpx2.Client(timeout=timeout, follow_redirects=False),
            )
            _clients[key] = client
        return client


def _retry_after(error: openai.APIStatusError) -> float | None:
    raw = error.response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _connection_message(error: BaseException, target: Target) -> str:
    cause = repr(error.__cause__ or error.__context__ or error).lower()
    if "ssl" in cause or "certificate" in cause or "tls" in cause:
        return f"The TLS handshake with {target.base_url} failed (certificate or protocol)."
    if "name or service" in cause or "getaddrinfo" in cause or "nodename" in cause:
        return f"The host of {target.base_url} could not be resolved (DNS)."
    if "refused" in cause:
        return f"Nothing answers at {target.base_url} (connection refused)."
    return f"Could not connect to {target.base_url}."


def _status_error(error: openai.APIStatusError, target: Target) -> ModelError:
    code = error.status_code
    if 300 <= code < 400:
        where = error.response.headers.get("location", "another address")
        return ModelError(f"The endpoint redirected to {where}; redirects are not followed.")
    if code == 401:
        return ModelError("The endpoint refused the API key (401 Unauthorized).")
    if code == 403:
        return ModelError("The API key may not use this model (403 Forbidden).")
    if code == 404:
        return ModelError(
            f"The endpoint has no model {target.model!r}, or the base URL is wrong (404)."
        )
    if code == 429:
        return ModelError(
            "The endpoint is rate limiting (429 Too Many Requests).",
            retryable=True,
            retry_after=_retry_after(error),
        )
    if code >= 500:
        return ModelError(
            f"The endpoint had an error ({code}).", retryable=True, retry_after=_retry_after(error)
        )
    detail = ""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        detail = str(inner.get("message", "")) if isinstance(inner, dict) else str(inner)
    return ModelError(
        f"The endpoint refused the request ({code}){': ' + detail if detail else ''}."
    )


def complete(
    target: Target, messages: Sequence[dict[str, str]], params: dict[str, Any] | None = None
) -> Completion:
    """One chat completion. Raises :class:`ModelError` for anything but an answer."""
    try:
        check_url(target.base_url)
    except OutboundRefused as refused:
        raise ModelError(str(refused)) from None
    started = time.monotonic()
    try:
        create: Any = _client(target).chat.completions.create  # messages are plain dicts
        response = create(model=target.model, messages=list(messages), **(params or {}))
    except openai.APITimeoutError:
        raise ModelError(
            f"The model did not answer within {target.timeout:g} s.", retryable=True
        ) from None
    except openai.APIConnectionError as error:
        raise ModelError(_connection_message(error, target), retryable=True) from None
    except openai.APIStatusError as error:
        raise _status_error(error, target) from None
    except (openai.APIResponseValidationError, ValueError):
        raise ModelError("The endpoint's answer is not a chat completion.") from None
    latency = int((time.monotonic() - started) * 1000)
    choices = getattr(response, "choices", None) or []
    if not choices or choices[0].message is None:
        raise ModelError("The endpoint's answer has no message.")
    text = choices[0].message.content or ""
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        latency_ms=latency,
        finish_reason=str(choices[0].finish_reason or ""),
    )
