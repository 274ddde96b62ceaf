"""The Import page's "Recent imports" table fits its card at a desktop width, even with
long filenames, large counts and long messages."""

from __future__ import annotations

import pytest

from imports.models import ImportJob
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAMES = [
    "customer-support-conversations-2026-q3-export-from-the-helpdesk-final-v2.jsonl.gz",
    "openassistant_oasst2_ready_trees_english_only_filtered_by_quality_threshold.jsonl",
    "Label_Studio_project_4711_export_annotations_with_predictions_full_snapshot.json",
]


def test_history_table_fits_its_card_at_1280(new_page, alice, project):
    for i, name in enumerate(LONG_NAMES):
        ImportJob.objects.create(
            project=project,
            filename=name,
            status="failed" if i == 1 else "succeeded",
            message=(
                "12,345 of 1,234,567 rows are invalid, so nothing was imported; "
                "fix the rows listed in the report or tick skip invalid rows and re-run"
            )
            * 2,
            total=1_234_567 + i,
            created=1_234_567 - i,
        )
    page = new_page(alice)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/projects/{project.slug}/import/")
    page.wait_for_selector("#history table")
    shot(page, "import-history-long-names")
    widths = page.evaluate(
        """() => {
            const card = document.querySelector('#history');
            const table = card.querySelector('table');
            return {table: table.scrollWidth, card: card.clientWidth,
                    page: document.documentElement.scrollWidth,
                    viewport: document.documentElement.clientWidth};
        }"""
    )
    assert widths["table"] <= widths["card"], widths
    assert widths["page"] <= widths["viewport"], widths
    # Every filename is still there in full (wrapped, not cut).
    text = page.inner_text("#history table")
    for name in LONG_NAMES:
        assert name in text.replace("\n", "")
