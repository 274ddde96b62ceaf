"""Jobs whose worker went silent (killed, machine lost) are resumed by the sweeper,
within a minute, and finish; a job that keeps killing its worker is failed with a
message after three tries; a live job is never taken over; a job whose message was
lost is sent again. Real worker kills are in tests/checks/test_check_worker.py and
tests/exports/test_export_worker.py; these drive the same code in-process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from annotation.states import State
from core import jobs
from core.models import JobStatus
from imports.models import ImportJob
from projects.models import Job
from tests.factories import make_item

pytestmark = pytest.mark.django_db
LONG_AGO = dt.timedelta(minutes=5)


def stuck_recheck(project: Any, *, attempts: int = 1, silent_for: dt.timedelta = LONG_AGO) -> Job:
    """A re-check whose worker died after checking the first of its items."""
    items = [
        make_item(project, f"Question {n}?", answer=f"Answer {n}.", state=State.IN_REVIEW, stage=0)
        for n in range(3)
    ]
    then = timezone.now() - silent_for
    return Job.objects.create(
        project=project,
        kind="recheck",
        status=JobStatus.RUNNING,
        total=3,
        progress=1,
        attempts=attempts,
        started_at=then,
        heartbeat_at=then,
        params={"items": [i.pk for i in items], "state": ""},
    )


def test_a_silent_recheck_is_resumed_and_finishes(
    project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = stuck_recheck(project)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep()["resumed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert job.progress == 3
    assert {"message": "Resumed after the worker running it stopped (attempt 2)."} in job.errors


def test_a_live_job_is_left_to_its_worker(project: Any) -> None:
    job = stuck_recheck(project, silent_for=dt.timedelta(seconds=5))
    assert jobs.sweep() == {"resumed": 0, "failed": 0, "resent": 0}
    assert jobs.claim(Job, job.pk) is None  # a second delivery does not run it twice
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1


def test_a_job_that_keeps_stopping_its_worker_is_failed_with_a_message(project: Any) -> None:
    job = stuck_recheck(project, attempts=jobs.MAX_ATTEMPTS)
    assert jobs.sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.finished_at is not None
    assert "stopped 3 times without finishing it" in job.errors[-1]["message"]


def test_an_import_in_its_writing_phase_says_it_is_alive_through_the_cache(project: Any) -> None:
    then = timezone.now() - LONG_AGO
    job = ImportJob.objects.create(
        project=project,
        filename="a.jsonl",
        status=JobStatus.RUNNING,
        attempts=1,
        started_at=then,
        heartbeat_at=then,
    )
    jobs.touch(ImportJob, job.pk)
    try:
        assert jobs.sweep()["resumed"] == 0
        assert ImportJob.objects.get(pk=job.pk).status == JobStatus.RUNNING
    finally:
        jobs.forget(ImportJob, job.pk)


def test_an_import_stopped_for_good_says_so_on_its_page(
    project: Any, alice: Any, client: Any
) -> None:
    then = timezone.now() - LONG_AGO
    job = ImportJob.objects.create(
        project=project,
        filename="a.jsonl",
        status=JobStatus.RUNNING,
        attempts=jobs.MAX_ATTEMPTS,
        started_at=then,
        heartbeat_at=then,
    )
    assert jobs.sweep()["failed"] == 1
    client.force_login(alice)
    page = client.get(f"/projects/support/import/{job.pk}/").content.decode()
    assert "stopped 3 times without finishing it" in page


def test_a_job_whose_message_was_lost_is_sent_again(
    project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = make_item(project, answer="Fine answer.", state=State.IN_REVIEW, stage=0)
    job = Job.objects.create(
        project=project,
        kind="recheck",
        total=1,
        params={"items": [item.pk], "state": ""},
        created_at=timezone.now() - LONG_AGO,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep()["resent"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 1
    # Sent once per window, not on every sweep.
    assert jobs.sweep()["resent"] == 0
