"""Exports with a real Celery worker on PostgreSQL and Redis, killed mid-export."""

from __future__ import annotations

import datetime
import os
import signal

import pytest
from django.conf import settings

from annotation.models import Item, Revision, RevisionKind
from config.celery import app as celery_app
from core import jobs
from core.models import JobStatus
from exports import services as exports
from exports.models import ExportJob
from tests.services import celery_worker, require_postgres, require_redis, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ITEMS = 6_000
# Small chunks, so the export takes long enough to be killed in the middle of it.
SLOW = {"EXPORT_CHUNK_ROWS": "100"}


def shared_storage() -> dict[str, str]:
    """Workers write through the same storage the web process reads from."""
    return {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}


def approved_items(project, n: int) -> None:
    items = Item.objects.bulk_create(
        Item(
            project=project,
            source=[{"role": "user", "content": f"Question {i} ✓"}],
            state="approved",
        )
        for i in range(n)
    )
    revisions = Revision.objects.bulk_create(
        Revision(
            item=item,
            kind=RevisionKind.SUBMISSION,
            messages=[*item.source, {"role": "assistant", "content": f"Answer {i}\u2028ok"}],
        )
        for i, item in enumerate(items)
    )
    for item, revision in zip(items, revisions, strict=True):
        item.current_revision = revision
    Item.objects.bulk_update(items, ["current_revision"], batch_size=2000)


def download(job: ExportJob) -> bytes:
    with exports.open_download(job=job) as handle:
        return handle.read()


def test_worker_killed_mid_export_retries_and_writes_identical_bytes(project, alice):
    require_postgres()
    require_redis()
    approved_items(project, ITEMS)
    options = {"format": "openai-chat", "split": {"validation": 0.1, "seed": 42}}
    celery_app.conf.task_always_eager = True
    clean = exports.export_to_path(project=project, path=os.devnull, options=options)
    celery_app.conf.task_always_eager = False

    with celery_worker(extra_env={**SLOW, **shared_storage()}) as worker:
        job = exports.create_export(project=project, user=alice, options=options)
        wait_for(
            lambda: ExportJob.objects.filter(pk=job.pk, progress__gt=0, status="running").exists(),
            timeout=60,
            interval=0.02,
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert 0 < job.progress < ITEMS, "the worker should die in the middle of the export"
    assert not job.file, "nothing is downloadable from a killed attempt"

    # Items approved after the snapshot must not appear in the retried export.
    approved_items(project, 5)
    assert jobs.sweep(stale_after=datetime.timedelta(0))["resumed"] == 1
    with celery_worker(extra_env=shared_storage()):
        wait_for(
            lambda: ExportJob.objects.filter(
                pk=job.pk, status__in=["succeeded", "failed"]
            ).exists(),
            timeout=120,
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.attempts == 2
    assert job.rows == ITEMS

    # The same bytes as the clean run before it, though items were approved meanwhile.
    assert job.sha256 == clean.sha256
    assert download(job) == download(clean)


def test_worker_builds_export_end_to_end(project, alice, api):
    require_postgres()
    require_redis()
    celery_app.conf.task_always_eager = False
    approved_items(project, 50)
    with celery_worker(extra_env=shared_storage()):
        response = api(alice).post(
            f"/api/v1/projects/{project.pk}/exports/", {"format": "sharegpt"}, format="json"
        )
        assert response.status_code == 202
        job_id = response.json()["id"]
        wait_for(
            lambda: api(alice).get(f"/api/v1/exports/{job_id}/").json()["status"] == "succeeded",
            timeout=60,
        )
    body = api(alice).get(f"/api/v1/exports/{job_id}/download/")
    data = b"".join(body.streaming_content)
    assert data.count(b"\n") == 50
    assert body["X-Checksum-Sha256"] == ExportJob.objects.get(pk=job_id).sha256
