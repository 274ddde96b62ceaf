"""Generation with a real Celery worker on PostgreSQL and Redis: a worker SIGKILLed in
the middle of a run is replaced, the sweeper hands the silent run to the new worker, it
resumes, and every item ends with exactly one draft."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from typing import Any

import pytest

from annotation.models import Item
from assist.generation import start_generation
from assist.models import Endpoint, Generation, PromptVersion
from assist.tasks import run_generation
from config.celery import app as celery_app
from core import jobs
from core.models import JobStatus
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.services import celery_worker, require_postgres, require_redis, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = 120


def test_a_killed_worker_resumes_and_drafts_every_item_once(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    require_postgres()
    require_redis()
    fake_llm.latency = 0.05
    Item.objects.bulk_create(
        Item(project=correct_project, source=[{"role": "user", "content": f"Question {n}"}])
        for n in range(ITEMS)
    )
    endpoint = Endpoint.objects.create(
        project=correct_project, name="loopback", base_url=fake_llm.url, model="drafter",
        family="llama", max_concurrency=4,
    )  # fmt: skip
    version = PromptVersion.objects.create(project=correct_project, name="v", template="{{prompt}}")
    env = {"OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
    celery_app.conf.task_always_eager = False
    with celery_worker(extra_env=env) as worker:
        job = start_generation(
            project=correct_project, actor=alice, endpoint=endpoint, prompt=version
        )
        wait_for(
            lambda: Generation.objects.filter(job=job).count() >= 10, timeout=90, interval=0.02
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    job.refresh_from_db()
    done_before = Generation.objects.filter(job=job).count()
    assert job.status == JobStatus.RUNNING
    assert 0 < done_before < ITEMS, "the worker should die in the middle of the run"

    # A message sent again while the run still looks alive does nothing...
    assert run_generation.apply(args=[job.pk]) is not None
    assert Generation.objects.filter(job=job).count() == done_before
    # ...the sweeper (celery beat, every 15 s) resends it once the run has been silent.
    with celery_worker(extra_env=env):
        assert jobs.sweep(stale_after=timedelta(0))["resumed"] == 1
        wait_for(lambda: Job.objects.get(pk=job.pk).finished, timeout=120)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert Generation.objects.filter(job=job).count() == ITEMS
    assert Generation.objects.filter(job=job, applied=True).count() == ITEMS
    assert not Item.objects.filter(project=correct_project, model_draft="").exists()
    # Calls made by the killed attempt whose answers were never written are the only
    # repeats; no item has two drafts.
    assert ITEMS <= fake_llm.calls <= ITEMS + 2 * 4 * 2
