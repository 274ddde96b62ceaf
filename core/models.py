"""What every background job shares: its status, who started it, when it ran, and one
small transition table moved by compare-and-set, as items are.

Imports, exports and the project's other jobs (re-checks, model runs) are their own
tables with their own fields; they inherit these columns and this behaviour. Status
lives in our rows, never in a Celery result backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# The one table of job moves. A worker that stopped mid-job puts it back to pending
# (its replacement resumes it); a finished job stays finished: a re-run is a new job.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}
FINISHED = frozenset(s for s, targets in JOB_TRANSITIONS.items() if not targets)

# How long a job may wait for a worker before its page says that none seems to be running.
WORKER_WAIT = dt.timedelta(seconds=15)


class InvalidJobMove(ValueError):
    """A move the job table does not allow (a bug in the caller, not a race)."""


class BackgroundJob(models.Model):
    """A job that a Celery worker runs (in-process when no broker is configured)."""

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker building it."
    )
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def waiting_for_worker(self) -> bool:
        """Still pending well after it was queued: no worker seems to be running."""
        return self.status == JobStatus.PENDING and timezone.now() - self.created_at > WORKER_WAIT


def move_job(
    model: type[BackgroundJob],
    job_id: int,
    *,
    source: str | tuple[str, ...],
    to: str,
    filters: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move job ``job_id`` from ``source`` (one status or several) to ``to``, setting
    ``fields`` too, if and only if it is still there: compare-and-set, so of two workers
    (or a worker and a cancel) exactly one wins. Sets ``started_at`` on the first run and
    ``finished_at`` on a finishing move unless given. Returns whether this call moved it.
    """
    sources = (source,) if isinstance(source, str) else source
    for s in sources:
        if to not in JOB_TRANSITIONS.get(s, frozenset()):
            raise InvalidJobMove(f"A job cannot go from {s} to {to}.")
    now = timezone.now()
    if to in FINISHED:
        fields.setdefault("finished_at", now)
    updated = model._default_manager.filter(
        pk=job_id, status__in=sources, **(filters or {})
    ).update(status=to, **fields)
    if updated and to == JobStatus.RUNNING and "started_at" not in fields:
        model._default_manager.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    return bool(updated)
