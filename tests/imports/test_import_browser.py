"""The Import page in a real browser with a real worker: upload a file, watch the
progress bar fill, read the error report, re-run skipping the bad rows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotation.models import Item
from config.celery import app as celery_app
from core.models import JobStatus
from imports.models import ImportJob
from tests.browser import shot
from tests.services import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 120_000


def make_file(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(ROWS):
            row = {
                "messages": [
                    {"role": "user", "content": f"Customer question {i}: where is my order?"}
                ]
            }
            if i in (7, 90_000):
                row = {
                    "messages": [
                        {"role": "user", "content": f"Question {i}"},
                        {"role": "tool", "content": "{}"},
                    ]
                }
            out.write(json.dumps(row) + "\n")
    return path


def watch(page, status: str) -> list[int]:
    """The progress values seen until the job section says ``status``."""
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen.append(int(page.get_attribute("#job [role=progressbar]", "aria-valuenow")))
        if page.get_attribute("#job", "data-status") == status:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"the import did not reach {status}; progress seen: {seen[-5:]}")


def test_upload_watch_progress_open_report_and_rerun(new_page, alice, project, tmp_path, settings):
    celery_app.conf.task_always_eager = False
    upload = make_file(tmp_path / "support-questions.jsonl")
    with celery_worker(extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}):
        page = new_page(alice)
        page.goto("/projects/support/")
        page.click("nav.tabs >> text=Import")
        page.wait_for_load_state("load")  # the drop zone's script is ready
        page.set_input_files("#id_file", str(upload))
        expect(page.locator("#dz-name")).to_contain_text("support-questions.jsonl")
        shot(page, "import-01-file-chosen")
        page.click("button:has-text('Upload and import')")
        page.wait_for_selector("#job")
        seen = watch(page, "running")
        shot(page, "import-02-running")
        seen += watch(page, "failed")
        assert seen[-1] == 100
        assert any(value < 100 for value in seen)
        assert "2 of 120,000 rows are invalid, so nothing was imported" in page.inner_text(
            "#job-message"
        )
        assert page.inner_text("#counts").split() == [
            "Rows", "read", "120,000", "Valid", "119,998", "Invalid", "2",
            "Duplicates", "0", "Already", "there", "0", "Created", "0",
        ]  # fmt: skip
        assert Item.objects.count() == 0

        page.click("#open-report")
        report = page.locator("#report table.report tbody tr")
        assert report.count() == 2
        assert report.nth(0).inner_text().split("\t")[:2] == ["8", "messages[1].role"]
        assert "Unknown role 'tool'" in report.nth(1).inner_text()
        shot(page, "import-03-error-report")

        with page.expect_download() as download:
            page.click("#download-report")
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[0] == "line,field,message" and len(lines) == 3

        page.click("#rerun")
        page.wait_for_selector("#job")
        watch(page, "succeeded")
        assert "Imported 119,998 items; 2 invalid rows skipped." in page.inner_text("#job-message")
        shot(page, "import-04-rerun-succeeded")
    job = ImportJob.objects.order_by("-id")[0]
    assert (job.status, job.created, job.skip_invalid) == (JobStatus.SUCCEEDED, 119_998, True)
    assert Item.objects.filter(project=project).count() == 119_998


def test_a_picture_renamed_jsonl_is_refused_and_a_finished_import_removed(
    new_page, alice, project, tmp_path
):
    """What a new user sees: a clear refusal for a binary file, and a way to tidy up."""
    picture = tmp_path / "holiday.jsonl"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    page = new_page(alice)
    page.goto("/projects/support/import/")
    page.wait_for_load_state("load")
    page.set_input_files("#id_file", str(picture))
    page.click("button:has-text('Upload and import')")
    expect(page.locator("#upload [role=alert]")).to_contain_text(
        "This is not a text file (it looks like a PNG image)"
    )
    assert ImportJob.objects.count() == 0
    shot(page, "import-05-binary-refused")

    rows = tmp_path / "one.jsonl"
    rows.write_text(json.dumps({"messages": [{"role": "user", "content": "Hi?"}]}) + "\n")
    page.set_input_files("#id_file", str(rows))
    page.click("button:has-text('Upload and import')")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded")
    page.click("#remove")
    expect(page.locator("#history")).to_contain_text("No imports yet.")
    expect(page.locator("body")).to_contain_text("Removed the import of one.jsonl")
    assert ImportJob.objects.count() == 0 and Item.objects.count() == 1
    shot(page, "import-06-removed")
