"""The import API and the import_items command: same rules, same report."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotation.models import Item
from core.models import JobStatus
from imports import files, pipeline
from imports.models import ImportJob

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "messages": [
            {"role": "user", "content": "Where is my parcel?"},
            {"role": "assistant", "content": "On its way."},
        ]
    },
    {"messages": [{"role": "system", "content": "Be brief."}]},
    {"messages": [{"role": "user", "content": "Refund?"}], "external_id": "r-1", "tags": ["money"]},
]


def jsonl(rows: list[Any]) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def post(client: Any, project: Any, data: bytes, name: str = "rows.jsonl", **fields: Any) -> Any:
    return client.post(
        f"/api/v1/projects/{project.pk}/imports/",
        {"file": upload(name, data), **fields},
        format="multipart",
    )


def test_post_runs_the_import_and_reports_invalid_rows(
    api, alice, project, django_capture_on_commit_callbacks
):
    client = api(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, project, jsonl(ROWS))
    assert response.status_code == 202
    job_id = response.json()["id"]
    body = client.get(f"/api/v1/imports/{job_id}/").json()
    assert body["status"] == "failed"
    assert (body["total"], body["valid"], body["invalid"], body["created"]) == (3, 2, 1, 0)
    assert body["errors"] == [{"line": 2, "field": "messages", "message": pipeline.NO_USER_TURN}]
    assert Item.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        rerun = client.post(
            f"/api/v1/imports/{job_id}/rerun/", {"skip_invalid": True}, format="json"
        )
    assert rerun.status_code == 202
    again = client.get(f"/api/v1/imports/{rerun.json()['id']}/").json()
    assert (again["status"], again["created"], again["invalid"], again["rerun_of"]) == (
        "succeeded",
        2,
        1,
        job_id,
    )
    assert Item.objects.filter(project=project).count() == 2


def test_post_with_skip_invalid_and_options(
    api, alice, correct_project, django_capture_on_commit_callbacks
):
    client = api(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            correct_project,
            jsonl(ROWS),
            skip_invalid="true",
            format="openai-chat",
            options=json.dumps({"source": "helpdesk"}),
            licence="internal",
        )
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 2)
    item = Item.objects.get(project=correct_project, external_id__isnull=True)
    assert item.model_draft == "On its way."
    assert (item.metadata["source"], item.metadata["licence"]) == ("helpdesk", "internal")


@pytest.mark.parametrize(
    ("fields", "data", "message"),
    [
        ({}, b"", files.EMPTY_FILE),
        ({"format": "yaml"}, b"{}", '"yaml" is not a valid choice.'),
        ({"options": "{not json"}, b"{}", "options: Value must be valid JSON."),
        ({"options": json.dumps({"oasst_mode": "all"})}, b"{}", "options: The OpenAssistant mode"),
    ],
)
def test_bad_requests_are_400_with_a_detail(api, alice, project, fields, data, message):
    response = post(api(alice), project, data, **fields)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_file_over_the_limit_is_400(api, alice, project, settings):
    settings.IMPORT_MAX_FILE_BYTES = 100
    response = post(api(alice), project, jsonl(ROWS))
    assert response.status_code == 400
    assert "largest file this instance accepts is 100 bytes" in response.json()["detail"]


def test_only_project_admins_may_import(api, anna, rita, oscar, project, other_project):
    assert post(api(anna), project, jsonl(ROWS)).status_code == 403
    assert post(api(rita), project, jsonl(ROWS)).status_code == 403
    assert post(api(oscar), project, jsonl(ROWS)).status_code == 404
    assert ImportJob.objects.count() == 0


def test_foreign_import_ids_are_404(
    api, alice, oscar, project, other_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        theirs = post(api(oscar), other_project, jsonl(ROWS[:1])).json()["id"]
    assert api(alice).get(f"/api/v1/imports/{theirs}/").status_code == 404
    assert api(alice).post(f"/api/v1/imports/{theirs}/cancel/").status_code == 404
    assert api(alice).get("/api/v1/imports/999999/").status_code == 404


def test_cancel_a_queued_import(api, alice, project):
    client = api(alice)
    job_id = post(client, project, jsonl(ROWS)).json()["id"]  # on_commit never fires here
    response = client.post(f"/api/v1/imports/{job_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/imports/{job_id}/cancel/")
    assert (
        again.status_code == 400 and again.json()["detail"] == "This import has already finished."
    )


def test_detail_query_count_is_constant(api, alice, project, django_assert_num_queries):
    client = api(alice)
    job_id = post(client, project, jsonl(ROWS)).json()["id"]
    client.get(f"/api/v1/imports/{job_id}/")
    # session-less token auth: the job (with project), the project, the membership.
    with django_assert_num_queries(3):
        assert client.get(f"/api/v1/imports/{job_id}/").status_code == 200


def test_list_imports(api, alice, project):
    client = api(alice)
    post(client, project, jsonl(ROWS))
    body = client.get(f"/api/v1/projects/{project.pk}/imports/").json()
    assert [j["filename"] for j in body] == ["rows.jsonl"]


# --- the command line -------------------------------------------------------------------


def test_command_reports_invalid_rows_and_fails(project, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl(ROWS))
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_items", "support", str(path), stdout=out)
    assert "1 of 3 rows are invalid, so nothing was imported" in str(exc.value)
    assert f"line 2 [messages]: {pipeline.NO_USER_TURN}" in out.getvalue()
    assert Item.objects.count() == 0


def test_command_with_skip_invalid_and_json_report(project, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl(ROWS))
    out = io.StringIO()
    call_command("import_items", "support", str(path), "--skip-invalid", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["status"], report["created"], report["invalid"]) == ("succeeded", 2, 1)
    assert report["errors"][0]["line"] == 2
    # Same file again: nothing new for the row with an external id, the rest are duplicates.
    out = io.StringIO()
    call_command(
        "import_items", "support", str(path), "--skip-invalid", "--skip-duplicates", stdout=out
    )
    assert "created 0" in out.getvalue()
    assert "already there 1" in out.getvalue()


def test_command_csv_columns(project, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("q,a\nHow?,Like this.\n")
    call_command(
        "import_items",
        "support",
        str(path),
        "--columns",
        "prompt=q,response=a",
        stdout=io.StringIO(),
    )
    assert Item.objects.get().reference == "Like this."


def test_command_errors(project, tmp_path):
    with pytest.raises(CommandError, match="no project with the slug 'nope'"):
        call_command("import_items", "nope", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="There is no file"):
        call_command("import_items", "support", str(tmp_path / "missing.jsonl"))
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        call_command("import_items", "support", str(empty))


def test_job_apis_say_when_no_worker_has_started_a_job(api, alice, project):
    from datetime import timedelta

    from django.utils import timezone

    from core.models import WORKER_WAIT
    from exports.models import ExportJob
    from projects.models import Job

    long_ago = timezone.now() - WORKER_WAIT - timedelta(seconds=1)
    jobs: dict[str, Any] = {
        "imports": ImportJob.objects.create(project=project, filename="a.jsonl", format="auto"),
        "exports": ExportJob.objects.create(project=project, format="openai-chat"),
        "jobs": Job.objects.create(project=project, kind="recheck"),
    }
    client = api(alice)
    for kind, job in jobs.items():
        body = client.get(f"/api/v1/{kind}/{job.pk}/").json()
        assert body["status"] == "pending" and body["waiting_for_worker"] is False, kind
        type(job).objects.filter(pk=job.pk).update(created_at=long_ago)
        assert client.get(f"/api/v1/{kind}/{job.pk}/").json()["waiting_for_worker"] is True, kind
