"""Celery application.

With ``REDIS_URL`` set, a worker (``celery -A config worker``) runs the tasks. Without it
the settings turn on ``task_always_eager`` so tasks run in-process and the embedded
default needs no worker at all.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("scriptorium")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="scriptorium.ping")
def ping(value: str = "pong") -> str:
    """A task with no side effects, for health and end-to-end checks of the worker."""
    return value
