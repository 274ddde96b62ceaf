"""The Import page without JavaScript: upload, map CSV columns, read the report,
download it, re-run, cancel."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Item
from core.models import JobStatus
from imports import pipeline
from imports.models import ImportJob

pytestmark = pytest.mark.django_db

GOOD = {"messages": [{"role": "user", "content": "Hello <b>there</b>?"}]}
BAD = {"messages": [{"role": "robot", "content": "<script>x</script>"}]}


def jsonl(*rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def upload(client, data: bytes, name: str = "rows.jsonl", **fields):
    return client.post(
        "/projects/support/import/",
        {"file": SimpleUploadedFile(name, data), "format": "auto", "oasst_mode": "paths", **fields},
    )


def test_import_page_shows_the_form_and_history(client, alice, project):
    client.force_login(alice)
    response = client.get("/projects/support/import/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html and 'id="dropzone"' in html
    assert "No imports yet." in html
    assert "the <strong>reference answer</strong>" in html


def test_only_admins_see_the_import_page(client, anna, oscar, project):
    client.force_login(anna)
    assert client.get("/projects/support/import/").status_code == 403
    client.force_login(oscar)
    assert client.get("/projects/support/import/").status_code == 404


def test_upload_with_a_bad_row_shows_the_report_and_rerun(
    client, alice, project, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, jsonl(GOOD, BAD, GOOD))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/projects/support/import/{job.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert job.status == JobStatus.FAILED or ImportJob.objects.get().status == JobStatus.FAILED
    assert 'data-status="failed"' in html
    assert "1 of 3 rows are invalid, so nothing was imported" in html
    assert "Unknown role &#x27;robot&#x27;" in html  # escaped, in the report table
    assert "<script>x</script>" not in html
    assert 'id="rerun"' in html and 'id="download-report"' in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no more polling

    report = client.get(f"/projects/support/import/{job.pk}/errors.csv")
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows == [
        ["line", "field", "message"],
        ["2", "messages[0].role", "Unknown role 'robot': use system, user or assistant."],
    ]

    with django_capture_on_commit_callbacks(execute=True):
        rerun = client.post(f"/projects/support/import/{job.pk}/rerun/", {"skip_invalid": "1"})
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert rerun["Location"] == f"/projects/support/import/{again.pk}/"
    assert (again.status, again.created, again.duplicates) == (JobStatus.SUCCEEDED, 2, 1)
    assert Item.objects.count() == 2


def test_htmx_poll_returns_only_the_job_section(
    client, alice, project, django_assert_max_num_queries
):
    client.force_login(alice)
    upload(client, jsonl(GOOD))  # stays queued: no on_commit here
    job = ImportJob.objects.get()
    # session, user, project, membership, the job
    with django_assert_max_num_queries(5):
        response = client.get(f"/projects/support/import/{job.pk}/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="job"')
    assert 'hx-trigger="every 1s"' in html and "Waiting for a worker" in html
    assert "<html" not in html


def test_jobs_no_worker_picks_up_say_so(client, alice, project):
    """With a broker configured and no worker running, a job would wait silently: after a
    short while, the import, export and checks pages say what to check."""
    from datetime import timedelta

    from django.utils import timezone

    from core.models import WORKER_WAIT
    from exports.models import ExportJob
    from projects.models import Job

    client.force_login(alice)
    upload(client, jsonl(GOOD))  # stays pending: no on_commit here
    job = ImportJob.objects.get()
    hint = "No worker has started this job yet"
    page = f"/projects/support/import/{job.pk}/"
    assert hint not in client.get(page).content.decode()  # just queued: nothing to worry about
    long_ago = timezone.now() - WORKER_WAIT - timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(created_at=long_ago)
    assert hint in client.get(page).content.decode()
    assert "celery -A config worker" in client.get(page).content.decode()

    ExportJob.objects.create(project=project, format="openai-chat", created_at=long_ago)
    assert hint in client.get("/projects/support/export/").content.decode()
    Job.objects.create(project=project, kind="recheck", created_at=long_ago)
    assert hint in client.get("/projects/support/checks/").content.decode()
    # A job a worker has started is not waiting for one.
    Job.objects.update(status=JobStatus.RUNNING)
    ExportJob.objects.update(status=JobStatus.RUNNING)
    assert hint not in client.get("/projects/support/checks/").content.decode()
    assert hint not in client.get("/projects/support/export/").content.decode()


def test_cancel_from_the_page(client, alice, project):
    client.force_login(alice)
    upload(client, jsonl(GOOD))
    job = ImportJob.objects.get()
    response = client.post(f"/projects/support/import/{job.pk}/cancel/", follow=True)
    assert "Cancelling the import" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_csv_upload_goes_through_the_column_mapping_step(
    client, alice, project, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    response = upload(
        client, b"Frage,Antwort,Kategorie\n=1+1,2,math\nWie?,So.,misc\n", name="q.csv"
    )
    job = ImportJob.objects.get()
    assert response["Location"] == f"/projects/support/import/{job.pk}/columns/"
    page = client.get(response["Location"]).content.decode()
    assert '<option value="Frage">Frage</option>' in page and "=1+1" in page
    missing = client.post(response["Location"], {"column_response": "Antwort"})
    assert (
        missing.status_code == 400
        and "Choose the column that holds the prompt." in missing.content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            response["Location"], {"column_prompt": "Frage", "column_response": "Antwort"}
        )
    assert done["Location"] == f"/projects/support/import/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 2)
    first = Item.objects.order_by("id")[0]
    assert (first.source[0]["content"], first.reference, first.metadata["fields"]) == (
        "=1+1",
        "2",
        {"Kategorie": "math"},
    )


def test_upload_form_errors(client, alice, project, settings):
    client.force_login(alice)
    response = client.post("/projects/support/import/", {"format": "auto"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    settings.IMPORT_MAX_FILE_BYTES = 10
    response = upload(client, jsonl(GOOD))
    assert response.status_code == 400
    assert "largest file this instance accepts is 10 bytes" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_wrong_format_shows_the_message(client, alice, project, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, jsonl(GOOD), format="sharegpt")
    html = client.get(response["Location"]).content.decode()
    assert "does not look like ShareGPT" in html
    assert pipeline.WRONG_FORMAT.split("{")[0] in html
