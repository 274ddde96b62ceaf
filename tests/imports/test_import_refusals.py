"""Files that are not what they say they are: binary uploads, text named ``.jsonl``, a CSV
that breaks in its first rows. Each is a clear message (a 400 in the API), never a 500
or a job left pending; and every job can be cancelled and, once finished, removed."""

from __future__ import annotations

import gzip
import json
import os
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Item
from core.models import JobStatus
from imports import files
from imports.models import ImportJob
from imports.services import import_file

pytestmark = pytest.mark.django_db

# The start of a real PNG: signature, IHDR chunk (with NUL bytes), then image data.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
    b"\x1f\xf3\xffa\x00\x00\x00\x19tEXtSoftware\x00Adobe ImageReady" + bytes(range(256)) * 8
)
CHAT = {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hi."}]}


def upload(client: Any, data: bytes, name: str, **fields: Any) -> Any:
    return client.post(
        "/projects/support/import/",
        {"file": SimpleUploadedFile(name, data), "format": "auto", "oasst_mode": "paths", **fields},
    )


def api_post(client: Any, project: Any, data: bytes, name: str, **fields: Any) -> Any:
    return client.post(
        f"/api/v1/projects/{project.pk}/imports/",
        {"file": SimpleUploadedFile(name, data), **fields},
        format="multipart",
    )


# --- binary files are refused by their content -------------------------------------------


@pytest.mark.parametrize("name", ["picture.jsonl", "picture.csv", "picture.txt", "picture"])
def test_png_is_refused_on_the_page_whatever_its_name(client, alice, project, name):
    client.force_login(alice)
    response = upload(client, PNG, name)
    html = response.content.decode()
    assert response.status_code == 400
    assert "PNG image" in html and "not a text file" in html
    assert ImportJob.objects.count() == 0


def test_png_renamed_jsonl_is_a_400_with_a_detail_in_the_api(api, alice, project):
    response = api_post(api(alice), project, PNG, "picture.jsonl")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "file: This is not a text file (it looks like a PNG"
    )
    assert ImportJob.objects.count() == 0


def test_random_bytes_are_refused_not_mapped_as_csv(client, alice, project):
    client.force_login(alice)
    data = os.urandom(4096).replace(b"\x00", b"\x01")  # no NUL byte: the other signs tell
    response = upload(client, data, "noise.jsonl")
    html = response.content.decode()
    assert response.status_code == 400
    assert "not a text file" in html and "columns found" not in html
    assert ImportJob.objects.count() == 0


def test_gzipped_binary_is_refused_too(project, alice, write_file):
    with pytest.raises(ValidationError) as exc:
        import_file(project=project, path=write_file("p.jsonl.gz", gzip.compress(PNG)), user=alice)
    assert "PNG image" in exc.value.message_dict["file"][0]


def test_latin1_text_is_still_text(project, alice, write_file):
    """A legacy encoding is not binary: its rows are reported, line by line."""
    job = import_file(
        project=project, path=write_file("q.csv", "prompt\ncafé?\n".encode("latin-1")), user=alice
    )
    assert job.status == JobStatus.FAILED
    assert job.errors[0]["line"] == 2 and "not valid UTF-8" in job.errors[0]["message"]


# --- a file named .jsonl / .json must be JSON ---------------------------------------------


def test_text_named_jsonl_says_it_is_not_json_at_once(project, alice, write_file):
    lines = "".join(f"This is line {i} of a plain text log.\n" for i in range(150_000))
    assert len(lines) > 5_000_000
    path = write_file("notes.jsonl", "\n\n" + lines)
    started = time.monotonic()
    with pytest.raises(ValidationError) as exc:
        import_file(project=project, path=path, user=alice)
    assert time.monotonic() - started < 1.0
    message = exc.value.message_dict["file"][0]
    assert message.startswith("The file notes.jsonl is not JSON: line 3 is not valid JSON")
    assert ImportJob.objects.count() == 0


def test_text_named_json_on_the_page_does_not_open_the_column_mapping(client, alice, project):
    client.force_login(alice)
    response = upload(client, b"question,answer\nHi?,Hello.\n", "rows.json")
    html = response.content.decode()
    assert response.status_code == 400
    assert "The file rows.json is not JSON: line 1 is not valid JSON" in html
    assert ImportJob.objects.count() == 0


def test_json_lines_of_strings_say_they_are_not_objects(api, alice, project):
    response = api_post(api(alice), project, b'"just text"\n"more"\n', "strings.jsonl")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "file: The file strings.jsonl is not JSON lines of objects: line 1 is a string."
    )


def test_text_named_jsonl_may_still_be_imported_as_csv_on_purpose(project, alice, write_file):
    path = write_file("odd.jsonl", "prompt,response\nHi?,Hello.\n")
    job = import_file(project=project, path=path, user=alice, format="csv")
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 1)


def test_plain_text_named_txt_is_still_read_as_csv(project, alice, write_file):
    job = import_file(project=project, path=write_file("p.txt", "prompt\nHi?\n"), user=alice)
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 1)


# --- a file that breaks after its head: the job fails with the message --------------------


def broken_csv() -> bytes:
    """Fine for the first 64 KB, then a lone carriage return in the second row."""
    return b"prompt,response\n" + b'"' + b"x" * 70_000 + b'",ok\n' + b"bad\rrow,no\n"


def test_csv_that_breaks_in_its_preview_rows_fails_the_job_not_the_page(client, alice, project):
    client.force_login(alice)
    response = upload(client, broken_csv(), "late.csv")
    job = ImportJob.objects.get()
    detail = f"/projects/support/import/{job.pk}/"
    assert response["Location"] == f"{detail}columns/"
    columns = client.get(f"{detail}columns/")  # reading its first rows fails the job
    assert (columns.status_code, columns["Location"]) == (302, detail)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "cannot be read at line 3" in job.message
    page = client.get(detail)
    assert page.status_code == 200 and "cannot be read at line 3" in page.content.decode()
    assert client.get(f"{detail}columns/")["Location"] == detail


def test_a_job_stuck_in_the_mapping_step_shows_its_failure(client, alice, project):
    """A job stored before the file could be checked (as before this fix) is not a 500."""
    client.force_login(alice)
    upload(client, b"prompt,response\nHi?,Hello.\n", "ok.csv")
    job = ImportJob.objects.get()
    assert job.phase == "mapping"
    job.file.save("png.csv", SimpleUploadedFile("png.csv", PNG))
    response = client.get(f"/projects/support/import/{job.pk}/", follow=True)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "PNG image" in job.message
    assert "PNG image" in response.content.decode()


# --- cancel and remove ------------------------------------------------------------------


def test_the_column_mapping_step_can_be_cancelled(client, alice, project):
    client.force_login(alice)
    response = upload(client, b"prompt,response\nHi?,Hello.\n", "ok.csv")
    page = client.get(response["Location"]).content.decode()
    job = ImportJob.objects.get()
    assert f'action="/projects/support/import/{job.pk}/cancel/"' in page
    client.post(f"/projects/support/import/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_remove_a_finished_import_from_the_page(
    client, alice, project, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, (json.dumps(CHAT) + "\n").encode(), "one.jsonl")
    job = ImportJob.objects.get()
    stored = job.file.path
    page = client.get(response["Location"]).content.decode()
    assert f'action="/projects/support/import/{job.pk}/remove/"' in page
    done = client.post(f"/projects/support/import/{job.pk}/remove/", follow=True)
    assert done.redirect_chain[-1][0] == "/projects/support/import/"
    assert "Removed the import of one.jsonl" in done.content.decode()
    assert not ImportJob.objects.exists() and not os.path.exists(stored)
    assert Item.objects.get().import_job_id is None  # the items it made stay


def test_a_running_or_pending_import_cannot_be_removed(client, alice, project):
    client.force_login(alice)
    upload(client, (json.dumps(CHAT) + "\n").encode(), "one.jsonl")  # on_commit never fires
    job = ImportJob.objects.get()
    page = client.get(f"/projects/support/import/{job.pk}/").content.decode()
    assert "/remove/" not in page
    response = client.post(f"/projects/support/import/{job.pk}/remove/", follow=True)
    assert "Only a finished import can be removed" in response.content.decode()
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_remove_keeps_the_file_a_rerun_still_uses(project, alice, write_file):
    from imports.services import delete_import, rerun_import

    path = write_file("two.jsonl", [CHAT, {"messages": []}])
    job = import_file(project=project, path=path, user=alice)
    again = rerun_import(job=job, user=alice, skip_invalid=True)
    delete_import(job=job)
    again.refresh_from_db()
    assert again.rerun_of_id is None and os.path.exists(again.file.path)


def test_delete_api(api, alice, anna, oscar, project, other_project, write_file):
    path = write_file("one.jsonl", [CHAT])
    job = import_file(project=project, path=path, user=alice)
    theirs = import_file(project=other_project, path=path, user=oscar)
    pending = api_post(api(alice), project, path.read_bytes(), "one.jsonl").json()["id"]
    assert api(anna).delete(f"/api/v1/imports/{job.pk}/").status_code == 403
    assert api(alice).delete(f"/api/v1/imports/{theirs.pk}/").status_code == 404
    refused = api(alice).delete(f"/api/v1/imports/{pending}/")
    assert refused.status_code == 400
    assert refused.json()["detail"] == "Only a finished import can be removed; cancel it first."
    assert api(alice).delete(f"/api/v1/imports/{job.pk}/").status_code == 204
    assert api(alice).get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert ImportJob.objects.filter(pk=theirs.pk).exists()


def test_binary_message_names_common_kinds():
    assert "ZIP archive" in (files.binary_kind(b"PK\x03\x04" + b"\x00" * 40) or "")
    assert files.binary_kind("prompt\ncafé\n".encode()) is None
    assert files.binary_kind("prompt\ncafé\n".encode("latin-1")) is None
    # A multi-byte character cut at the end of the head is not invalid UTF-8.
    assert files.binary_kind("é".encode() * 10 + "é".encode()[:1]) is None
