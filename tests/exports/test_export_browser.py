"""The Export page in a real browser: choose options, start, watch it finish, download."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from exports import services as exports
from exports.models import ExportJob
from reviews.models import Decision, Review
from tests.browser import shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_exports_with_a_split_and_downloads_the_zip(new_page, project, alice):
    for n in range(40):
        make_item(project, f"How do I do thing {n}?", answer=f"Like this ({n}).", state="approved")
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/")
    page.click("nav.tabs >> text=Export")
    page.wait_for_url("**/projects/support/export/")
    assert "No exports yet" in page.inner_text("#history")
    shot(page, "export-01-empty")

    page.select_option("#id_format", "openai-chat")
    page.fill("#id_validation", "0.1")
    page.fill("#id_seed", "7")
    page.check("#id_dedup")
    page.fill("#id_system_prompt", "You are CloudSync Pro Support.")
    page.click("button:has-text('Start export')")
    page.wait_for_selector("#history >> text=Succeeded")
    assert "started" in page.inner_text("#messages")
    job = ExportJob.objects.get()
    row = page.inner_text("#history tbody tr")
    assert "openai-chat" in row and "split 0.1" in row and "dedup" in row and "40" in row
    shot(page, "export-02-finished")

    with page.expect_download() as info:
        page.click("#history >> text=Download .zip")
    data = Path(info.value.path()).read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["rows"] == 40 and manifest["options"]["split"] == {"validation": 0.1, "seed": 7}
    assert hashlib.sha256(data).hexdigest() == job.sha256


def test_bad_options_show_the_reason_on_the_form(new_page, project, alice):
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/export/")
    page.select_option("#id_format", "prompt-completion")
    page.fill("#id_template", "no placeholder")
    page.click("button:has-text('Start export')")
    page.wait_for_selector("text=must contain {prompt}")
    shot(page, "export-03-error")
    assert not ExportJob.objects.exists()


def test_history_table_fits_its_card_at_1280px(new_page, project, alice):
    """The history (with its sha256 column and long option summaries) fits its card at
    the default 1280 px viewport: no sideways scrolling inside the card."""
    for n in range(30):
        item = make_item(
            project, f"Question {n}?", answer=f"Answer {n}.", state="approved", author=alice,
            tags=["billing", "onboarding-and-accounts"],
        )  # fmt: skip
        assert item.current_revision is not None
        Review.objects.create(
            item=item, revision=item.current_revision, stage=0, decision=Decision.APPROVE
        )
    options: list[dict[str, Any]] = [
        {"format": "openai-chat"},
        {
            "format": "prompt-completion",
            "split": {"validation": 0.25, "seed": 123456789},
            "dedup": True,
            "include_metadata": True,
            "filters": {
                "tags": ["billing", "onboarding-and-accounts"],
                "stage": 0,
                "annotator": "alice",
                "approved_from": "2020-01-01",
                "approved_to": "2099-12-31",
            },
        },
        {"format": "sharegpt", "dedup": True},
    ]
    for option in options:
        exports.create_export(project=project, user=alice, options=option)
    assert ExportJob.objects.filter(status="succeeded").count() == len(options)
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/export/")
    assert page.viewport_size == {"width": 1280, "height": 900}
    page.wait_for_selector("#history table.export-history")
    shot(page, "export-04-history-1280")
    widths = page.evaluate(
        """() => {
            const card = document.querySelector('#history');
            const table = card.querySelector('table.export-history');
            return {table: table.scrollWidth, card: card.clientWidth};
        }"""
    )
    assert widths["table"] <= widths["card"], widths
    # The sha256 is shortened on the page, the full value one hover or copy away.
    job = ExportJob.objects.filter(format="prompt-completion").get()
    sha = page.locator(f"#history [data-sha256='{job.sha256}']")
    assert sha.get_attribute("title") == f"sha256 {job.sha256}"
    assert job.sha256 not in sha.inner_text()
