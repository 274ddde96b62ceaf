"""Imports on PostgreSQL outside a test transaction (rows stream into COPY while the
file is checked) and with a real Celery worker: progress, cancel, nothing half-applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.models import Item
from config.celery import app as celery_app
from core.models import JobStatus
from imports.models import ImportJob
from imports.services import import_file
from tests.services import celery_worker, require_postgres, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def chat_rows(n: int, *, bad_at: int | None = None) -> bytes:
    lines = []
    for i in range(n):
        row = {
            "messages": [
                {"role": "user", "content": f"Question number {i}?"},
                {"role": "assistant", "content": "Answer."},
            ]
        }
        if i == bad_at:
            row = {"messages": [{"role": "assistant", "content": "No question."}]}
        lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


def test_streamed_copy_commits_only_a_valid_file(project, alice, tmp_path: Path):
    require_postgres()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(chat_rows(12_000, bad_at=11_990))
    job = import_file(project=project, path=bad, user=alice)
    assert (job.status, job.invalid, job.created) == (JobStatus.FAILED, 1, 0)
    assert Item.objects.count() == 0

    job = import_file(project=project, path=bad, user=alice, skip_invalid=True)
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 11_999)
    assert Item.objects.filter(import_job=job).count() == 11_999
    item = Item.objects.filter(import_job=job).order_by("id")[0]
    assert item.source == [{"role": "user", "content": "Question number 0?"}]
    assert (item.reference, item.state, item.metadata) == (
        "Answer.",
        "queued",
        {"format": "openai-chat"},
    )

    again = import_file(
        project=project, path=bad, user=alice, skip_invalid=True, skip_duplicates=True
    )
    assert (again.status, again.duplicates, again.created) == (JobStatus.SUCCEEDED, 11_999, 0)


def test_real_worker_runs_the_import_from_the_api(api, alice, project, settings):
    celery_app.conf.task_always_eager = False
    with celery_worker(extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}):
        response = api(alice).post(
            f"/api/v1/projects/{project.pk}/imports/",
            {"file": _upload("rows.jsonl", chat_rows(3_000))},
            format="multipart",
        )
        assert response.status_code == 202
        job_id = response.json()["id"]
        wait_for(lambda: ImportJob.objects.get(pk=job_id).finished, timeout=60)
    job = ImportJob.objects.get(pk=job_id)
    assert job.message.startswith("Imported 3,000 items")
    assert (job.status, job.total, job.created) == (JobStatus.SUCCEEDED, 3_000, 3_000)
    assert job.position == job.size
    assert Item.objects.filter(project=project).count() == 3_000


def test_cancel_a_running_import_with_a_real_worker(api, alice, project, settings):
    celery_app.conf.task_always_eager = False
    client = api(alice)
    with celery_worker(extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}):
        response = client.post(
            f"/api/v1/projects/{project.pk}/imports/",
            {"file": _upload("many.jsonl", chat_rows(400_000)), "skip_invalid": "true"},
            format="multipart",
        )
        job_id = response.json()["id"]
        wait_for(lambda: ImportJob.objects.get(pk=job_id).total > 0, timeout=60)
        assert client.post(f"/api/v1/imports/{job_id}/cancel/").status_code == 200
        wait_for(lambda: ImportJob.objects.get(pk=job_id).finished, timeout=60)
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == JobStatus.CANCELLED
    assert 0 < job.total < 400_000
    assert job.message == "The import was cancelled; nothing was imported."
    assert Item.objects.count() == 0


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
