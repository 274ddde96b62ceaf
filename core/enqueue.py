"""The one way services hand work to Celery: by task name, after the transaction commits.

A task enqueued inside a transaction could run before the rows it reads exist, or run
for a change that was rolled back. ``on_commit`` waits for the commit. With no broker
(``REDIS_URL`` unset) Celery runs the task in-process at that moment.

Services name the task instead of importing it, so a service never imports a tasks
module (tasks import services, never the other way round) and an app can start work
that an app further down the flow carries out.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

log = logging.getLogger(__name__)
# A broker that does not answer within about a second is treated as down.
BROKER_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Run the task registered as ``task_name`` with these arguments once the current
    transaction commits (at once outside a transaction)."""

    def send() -> None:
        if task_name not in current_app.tasks:
            # The web process has not imported the apps' tasks modules yet.
            current_app.loader.import_default_modules()
        # ``apply_async`` on the registered task, not ``send_task``: only the former runs
        # in-process when ``task_always_eager`` is on.
        task = current_app.tasks[task_name]
        if current_app.conf.task_always_eager:
            task.apply_async(args=args, kwargs=kwargs)
            return
        try:
            task.apply_async(args=args, kwargs=kwargs, retry_policy=BROKER_RETRY)
        except (KombuOperationalError, ConnectionError, OSError) as error:
            # The change is committed; what it started waits for a sweeper (stuck
            # submissions, pending jobs) instead of turning a saved change into an error.
            log.warning("Broker unreachable; %s%r left for the sweeper: %s", task_name, args, error)

    transaction.on_commit(send)


# The task that checks a new revision and then routes its item (back to its annotator,
# or on to review). Annotation's submit, the reviewer's edit, re-checks and the sweeper
# all start it; it lives in reviews/tasks.py, the lowest app that knows both steps.
CHECK_SUBMISSION = "reviews.check_submission"
