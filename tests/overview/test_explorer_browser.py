"""The item explorer in a real browser: filter, move with j/k, open with Enter; and a
bulk retag whose progress shows on the page until it is done."""

from __future__ import annotations

import pytest

from annotation.models import Item
from projects.models import Job
from tests.browser import shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_then_move_with_j_k_and_open_with_enter(new_page, project, alice) -> None:
    for i in range(3):
        make_item(project, f"Billing question {i}", tags=["billing"])
    make_item(project, "A joke about penguins")
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/items/")
    page.fill("input[name=q]", "billing")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**q=billing**")
    assert page.locator("#explorer tbody tr[data-href]").count() == 3
    assert "penguins" not in page.inner_text("#explorer")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    current = page.locator("#explorer tr.current")
    assert current.count() == 1
    target = current.get_attribute("data-href")
    shot(page, "explorer-filtered")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")
    assert page.is_visible("#admin-actions") and page.is_visible("#history")
    shot(page, "explorer-item-admin")
    second = Item.objects.filter(project=project).order_by("id")[1]
    assert target.endswith(f"/items/{second.pk}/")


def test_bulk_retag_on_a_filter_shows_progress_until_done(new_page, project, alice) -> None:
    for i in range(60):
        make_item(project, f"Prompt {i}", tags=["old"])
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/items/?tag=old")
    page.check("input[name=scope][value=all]")
    page.select_option("#bulk-action", "retag")
    page.fill("#bulk-value", "reviewed")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("#bulk-job[data-status=succeeded]")
    assert "60 of 60" in page.inner_text("#bulk-job")
    shot(page, "explorer-bulk-retag")
    job = Job.objects.get(kind="bulk")
    assert job.created_by == alice and job.total == 60
    assert all("reviewed" in tags for tags in Item.objects.values_list("tags", flat=True))


def test_the_dashboard_charts_show_the_numbers_of_the_stats_api(new_page, project, alice) -> None:
    from annotation.states import State
    from tests.conftest import api_for

    for i in range(4):
        make_item(project, f"Question {i}", tags=["billing" if i % 2 else "refund"])
    make_item(project, "Flagged one", state=State.FLAGGED)
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/dashboard/")
    page.wait_for_selector("#table-states svg")
    stats = api_for(alice).get(f"/api/v1/projects/{project.pk}/stats/").json()
    cells = page.locator("#table-states tbody tr")
    shown = {
        cells.nth(i).locator("td").nth(0).inner_text(): int(
            cells.nth(i).locator("td").nth(1).inner_text()
        )
        for i in range(cells.count())
    }
    assert shown == stats["states"]
    svg = page.inner_html("#table-states svg")
    assert "Items per state" in svg and ">4</text>" in svg
    shot(page, "dashboard")
