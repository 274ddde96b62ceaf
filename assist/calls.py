"""One model call as a run makes it: within the endpoint's concurrency and rate limits
(``assist.limits``), retried with backoff on errors that may pass (timeouts, 429, 5xx,
refused connections), honouring ``Retry-After``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from assist import limits, secrets
from assist.client import Completion, ModelError, Target, complete
from assist.models import Endpoint

ATTEMPTS = 4
BACKOFF_BASE = 1.0  # seconds: 1, 2, 4 … plus jitter
BACKOFF_MAX = 30.0


def target(endpoint: Endpoint) -> Target:
    """The call's view of ``endpoint``; raises ModelError when its key cannot be read."""
    try:
        key = secrets.api_key(endpoint.api_key_encrypted, endpoint.api_key_env)
    except secrets.SecretUnavailable as missing:
        raise ModelError(str(missing)) from None
    return Target(
        base_url=endpoint.base_url, model=endpoint.model, api_key=key, timeout=endpoint.timeout
    )


def call_model(
    endpoint: Endpoint,
    messages: Sequence[dict[str, str]],
    params: dict[str, Any] | None = None,
    *,
    attempts: int = ATTEMPTS,
    sleep: Any = time.sleep,
) -> Completion:
    """A completion from ``endpoint``, or ModelError once the error is final or
    ``attempts`` calls failed."""
    where = target(endpoint)
    for attempt in range(1, attempts + 1):
        try:
            with limits.slot(endpoint, estimated_tokens=limits.estimate_tokens(messages, params)):
                return complete(where, messages, params)
        except ModelError as error:
            if not error.retryable or attempt == attempts:
                raise
            wait = error.retry_after
            if wait is None:
                wait = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
                wait += random.uniform(0, wait / 2)
            sleep(min(wait, BACKOFF_MAX))
    raise AssertionError("unreachable")
