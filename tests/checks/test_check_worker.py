"""Checks with a real Celery worker: a worker killed with SIGKILL in the middle of the
task loses nothing, and the item ends with exactly one set of results."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Item
from annotation.states import State
from checks import config, recheck
from checks.models import CheckResult
from config.celery import app as celery_app
from reviews.pipeline import check_submission
from reviews.tasks import run_checks
from tests.factories import make_item
from tests.services import celery_worker, require_postgres, require_redis, wait_for

ANSWER = "Open Settings, choose Security and click Reset password. We email you a link."


def workers_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # Statistics views are a snapshot per transaction; we ask from inside one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def state_of(item: Item) -> str:
    return str(Item.objects.values_list("state", flat=True).get(pk=item.pk))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_task_then_a_new_worker_finishes_with_one_set_of_results(
    project: Any,
) -> None:
    require_postgres()
    require_redis()
    celery_app.conf.task_always_eager = False
    cache.clear()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")  # type: ignore[attr-defined]
    item = make_item(project, answer=ANSWER, state=State.SUBMITTED)
    revision_id = item.current_revision_id
    assert revision_id is not None
    expected = {
        c.name
        for c in config.project_checks(project)
        if c.enabled and c.applies_to(project.task_type)
    }

    # Hold the item's row lock: the worker computes the results, then waits on the lock
    # just before it writes them. That is where we kill it.
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=item.pk)
        with celery_worker() as worker:
            run_checks.delay(revision_id)
            wait_for(lambda: workers_waiting_on_a_lock() >= 1, timeout=90)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            assert worker.returncode == -signal.SIGKILL
    assert not CheckResult.objects.filter(revision_id=revision_id).exists()
    assert state_of(item) == State.SUBMITTED

    # The message is stuck unacknowledged; the sweeper re-enqueues what waits too long.
    Item.objects.filter(pk=item.pk).update(state_changed_at=timezone.now() - timedelta(minutes=5))
    with celery_worker():
        assert recheck.sweep_stuck_submissions() == 1
        wait_for(lambda: state_of(item) != State.SUBMITTED, timeout=90)
    assert state_of(item) == State.IN_REVIEW
    names = list(CheckResult.objects.filter(revision_id=revision_id).values_list("name", flat=True))
    assert sorted(names) == sorted(expected)

    # When the broker finally redelivers the original message, nothing changes.
    check_submission(revision_id)
    assert CheckResult.objects.filter(revision_id=revision_id).count() == len(expected)
    assert state_of(item) == State.IN_REVIEW


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_recheck_whose_worker_is_killed_twice_is_resumed_by_the_sweeper_and_finishes(
    project: Any, alice: Any
) -> None:
    from core import jobs
    from core.models import JobStatus
    from projects.models import Job

    require_postgres()
    require_redis()
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")  # type: ignore[attr-defined]
    items = [
        make_item(
            project,
            f"Question {n}: how do I reset it?",
            answer=ANSWER,
            state=State.IN_REVIEW,
            stage=0,
        )
        for n in range(600)
    ]
    with transaction.atomic():
        job = recheck.start_recheck(project=project, actor=alice, state=State.IN_REVIEW)
    seen = 0
    for kill in range(2):
        with celery_worker() as worker:
            if kill:
                assert jobs.sweep(stale_after=timedelta(0))["resumed"] == 1
            wait_for(
                lambda: Job.objects.filter(pk=job.pk, progress__gt=seen, status="running").exists(),
                timeout=90,
                interval=0.05,
            )
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING and job.progress < len(items), "killed mid-way"
        seen = job.progress
    # The sweeper (celery beat runs it every 15 s) hands the silent job to a new worker.
    with celery_worker():
        assert jobs.sweep(stale_after=timedelta(0))["resumed"] == 1
        wait_for(
            lambda: Job.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).exists(),
            timeout=120,
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.attempts == 3 and job.progress == len(items)
    # Every item checked, each with exactly one result per check.
    per_revision = CheckResult.objects.filter(revision__item__project=project).values_list(
        "revision_id", "name"
    )
    assert len(per_revision) == len(set(per_revision))
    assert len({r for r, _ in per_revision}) == len(items)
