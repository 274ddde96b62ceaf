"""The one way services hand work to Celery: after the transaction commits.

A task enqueued inside a transaction could run before the rows it reads exist, or run
for a change that was rolled back. ``on_commit`` waits for the commit. With no broker
(``REDIS_URL`` unset) Celery runs the task in-process at that moment.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.delay(*args, **kwargs))
