"""What every idempotent task shares: acknowledged late, delivered again when the worker
dies mid-task, and retried with backoff for transient failures only (a lost database or
broker connection); a bug fails loudly instead of looping."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}
