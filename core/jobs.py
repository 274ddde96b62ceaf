"""Crash-safe background jobs: every run beats a heartbeat while it works, a run is
claimed by compare-and-set (taking over only a job whose worker went silent), and one
sweeper hands silent jobs back to the queue, or fails them after ``MAX_ATTEMPTS``.

A worker killed mid-job leaves its job ``running``; its task message may come back only
much later (the broker's visibility timeout), so the sweeper, run by celery beat every
30 seconds, resumes it within a minute. Every job kind is idempotent on resume (it
continues from its stored progress, or starts over without committing twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.enqueue import enqueue
from core.models import BackgroundJob, JobStatus, move_job

STALE_AFTER = dt.timedelta(seconds=45)
MAX_ATTEMPTS = 3
GAVE_UP = (
    "The worker running this job stopped {attempts} times without finishing it, so it "
    "was stopped. Start it again; if it stops again, the job's input may be the cause."
)
RESUMED = "Resumed after the worker running it stopped (attempt {attempt})."


@dataclass(frozen=True)
class JobKind:
    """One kind of job the sweeper looks after: its table, the rows of that table that
    are of this kind, the task that runs it, and where the page reads a message."""

    model: type[BackgroundJob]
    task: str
    filters: tuple[tuple[str, Any], ...] = ()
    note: Callable[[BackgroundJob, str], dict[str, Any]] | None = None
    stale_after: dt.timedelta = STALE_AFTER


KINDS: list[JobKind] = []


def in_errors(job: BackgroundJob, message: str) -> dict[str, Any]:
    """A note for a job whose page lists its ``errors``."""
    return {"errors": [*getattr(job, "errors", []), {"message": message}]}


def in_message(job: BackgroundJob, message: str) -> dict[str, Any]:
    """A note for a job whose page shows its ``message``."""
    return {"message": message}


def register(kind: JobKind) -> None:
    """Called from an app's ``ready()`` for each kind of job it runs."""
    if kind not in KINDS:
        KINDS.append(kind)


def _alive_key(model: type[BackgroundJob], job_id: int) -> str:
    return f"job-alive:{model._meta.label_lower}:{job_id}"


def touch(model: type[BackgroundJob], job_id: int, *, seconds: float = 120) -> None:
    """A sign of life kept in the cache, for phases that run inside one long database
    transaction (a heartbeat written there would not be seen until it commits)."""
    cache.set(_alive_key(model, job_id), 1, timeout=int(seconds))


def forget(model: type[BackgroundJob], job_id: int) -> None:
    """Drop the cache's sign of life (the job finished)."""
    cache.delete(_alive_key(model, job_id))


def _kind_of(job: BackgroundJob) -> JobKind:
    for kind in KINDS:
        if isinstance(job, kind.model) and all(getattr(job, f) == v for f, v in kind.filters):
            return kind
    return JobKind(type(job), task="")


def beat(model: type[BackgroundJob], job_id: int, *, attempt: int, **fields: Any) -> bool:
    """Record a sign of life (and ``fields``, e.g. progress) for this attempt; False when
    another attempt has taken the job over or it stopped running (stop working then)."""
    updated = model._default_manager.filter(
        pk=job_id, attempts=attempt, status=JobStatus.RUNNING
    ).update(heartbeat_at=timezone.now(), **fields)
    return updated == 1


def claim(
    model: type[BackgroundJob],
    job_id: int,
    *,
    stale_after: dt.timedelta | None = None,
    filters: dict[str, Any] | None = None,
    **fields: Any,
) -> int | None:
    """Start an attempt at the job: pending → running, or a running job whose worker went
    silent taken over. Returns the attempt number (pass it to :func:`beat`), or None when
    the job is finished, gone, or alive in another worker."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            model._default_manager.select_for_update().filter(pk=job_id, **(filters or {})).first()
        )
        if job is None:
            return None
        if job.status == JobStatus.RUNNING:
            window = stale_after or _kind_of(job).stale_after
            beat_at = job.heartbeat_at
            alive = cache.get(_alive_key(model, job.pk)) or (beat_at and beat_at > now - window)
            if alive:
                return None  # alive in another worker
            move_job(model, job.pk, source=JobStatus.RUNNING, to=JobStatus.PENDING)
        elif job.status != JobStatus.PENDING:
            return None
        attempt = job.attempts + 1
        moved = move_job(
            model,
            job.pk,
            source=JobStatus.PENDING,
            to=JobStatus.RUNNING,
            attempts=attempt,
            heartbeat_at=now,
            **fields,
        )
        return attempt if moved else None


def _give_up(kind: JobKind, job: BackgroundJob) -> bool:
    message = GAVE_UP.format(attempts=job.attempts)
    extra = kind.note(job, message) if kind.note else {}
    return move_job(
        kind.model,
        job.pk,
        source=JobStatus.RUNNING,
        to=JobStatus.FAILED,
        filters={"attempts": job.attempts},
        **extra,
    )


def sweep(*, stale_after: dt.timedelta | None = None, limit: int = 200) -> dict[str, int]:
    """Resume or fail every running job whose worker went silent (each kind's
    ``stale_after``, or the one given), and send again jobs still pending long after
    they were queued (their message was lost). Safe to run from several places at
    once: every move is a compare-and-set."""
    counts = {"resumed": 0, "failed": 0, "resent": 0}
    for kind in KINDS:
        cutoff = timezone.now() - (kind.stale_after if stale_after is None else stale_after)
        rows = kind.model._default_manager.filter(**dict(kind.filters))
        silent = rows.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff) | rows.filter(
            status=JobStatus.RUNNING, heartbeat_at__isnull=True, started_at__lt=cutoff
        )
        for job in silent.order_by("pk")[:limit]:
            if cache.get(_alive_key(kind.model, job.pk)):
                continue
            if job.attempts >= MAX_ATTEMPTS:
                counts["failed"] += _give_up(kind, job)
                continue
            with transaction.atomic():
                note = RESUMED.format(attempt=job.attempts + 1)
                extra = kind.note(job, note) if kind.note else {}
                if move_job(
                    kind.model,
                    job.pk,
                    source=JobStatus.RUNNING,
                    to=JobStatus.PENDING,
                    filters={"attempts": job.attempts},
                    **extra,
                ):
                    enqueue(kind.task, job.pk)
                    counts["resumed"] += 1
        lost = rows.filter(status=JobStatus.PENDING, created_at__lt=cutoff).filter(
            heartbeat_at__isnull=True
        ) | rows.filter(status=JobStatus.PENDING, heartbeat_at__lt=cutoff)
        for job_id in lost.order_by("pk").values_list("pk", flat=True)[:limit]:
            # Marked as sent, so one lost message is sent again once per window.
            if kind.model._default_manager.filter(pk=job_id, status=JobStatus.PENDING).update(
                heartbeat_at=timezone.now()
            ):
                enqueue(kind.task, job_id)
                counts["resent"] += 1
    return counts
