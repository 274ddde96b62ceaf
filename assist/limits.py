"""Per-endpoint concurrency and rate limits that hold across worker processes.

Placeholder to be replaced: a process-local semaphore only."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from assist.models import Endpoint

_semaphores: dict[int, threading.BoundedSemaphore] = {}
_lock = threading.Lock()


def estimate_tokens(messages: Sequence[dict[str, str]], params: dict[str, Any] | None) -> int:
    chars = sum(len(m.get("content", "")) for m in messages)
    return chars // 4 + int((params or {}).get("max_tokens") or 256)


@contextmanager
def slot(endpoint: Endpoint, *, estimated_tokens: int = 0) -> Iterator[None]:
    with _lock:
        semaphore = _semaphores.setdefault(
            endpoint.pk, threading.BoundedSemaphore(max(1, endpoint.max_concurrency))
        )
    with semaphore:
        yield
