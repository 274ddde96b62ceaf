"""In Chromium: the banner for guidelines published while an item is held, the
anchoring guard's blind start, and server-rendered times in the browser's time zone."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import Assignment, Revision
from projects import services as project_services
from projects.models import Role
from tests.browser import saved, shot
from tests.factories import make_item
from tests.services import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

V1 = "# Support\n\n- Be brief."
V2 = "# Support\n\n- Be brief.\n- Start with 'CloudSync Pro Support:'."


def _saved(page) -> None:
    saved(page)


def test_new_guidelines_while_holding_show_a_banner_and_submit_waits(
    new_page, project, alice, anna
) -> None:
    project_services.publish_guideline(project=project, body=V1, author=alice)
    project_services.acknowledge_guideline(project=project, user=anna)
    item = make_item(project, "How do I reset my password?")
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    assert page.locator("#guideline-changed").is_hidden()
    answer = page.locator("textarea.turn-input")
    answer.type("Open Settings.")
    _saved(page)
    project_services.publish_guideline(project=project, body=V2, author=alice)
    answer.type(" Then Reset password.")
    # The next autosave learns of version 2 and shows what changed.
    page.wait_for_selector("#guideline-changed:not([hidden])")
    banner = page.inner_text("#guideline-changed")
    assert "version 2 replaces version 1" in banner
    assert "+- Start with 'CloudSync Pro Support:'." in banner
    shot(page, "guideline-banner")
    answer.press("Control+Enter")
    expect(page.locator("#save-status")).to_contain_text("Acknowledge")
    assert not Revision.objects.filter(item=item).exists()
    page.click("#guideline-ack")
    page.wait_for_selector("#guideline-changed", state="hidden")
    answer.press("Control+Enter")
    page.wait_for_url(lambda url: f"/items/{item.pk}/" not in url)
    revision = Revision.objects.get(item=item)
    assert revision.guideline is not None and revision.guideline.version == 2
    assert revision.messages[-1]["content"] == "Open Settings. Then Reset password."


def test_a_blind_item_shows_the_draft_only_after_the_first_save(
    new_page, correct_project, anna
) -> None:
    project_services.set_member(project=correct_project, username="anna", role=Role.ANNOTATOR)
    correct_project.anchoring_share = 1.0
    correct_project.save()
    draft = "To reset your password, open Settings and choose Security."
    item = make_item(correct_project, "How do I reset my password?", draft=draft)
    page = new_page(anna)
    page.goto(f"/projects/{correct_project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    assert "Write your own answer first" in page.inner_text("#blind-note")
    assert page.input_value("textarea.turn-input") == ""
    assert draft not in page.inner_text("body")
    shot(page, "anchoring-blind-start")
    page.locator("textarea.turn-input").type("Go to Settings, then Security.")
    _saved(page)
    page.wait_for_selector("#model-draft-reference:not([hidden])")
    assert page.inner_text("#model-draft-text") == draft
    assert page.locator("#blind-note").is_hidden()
    assert page.input_value("textarea.turn-input") == "Go to Settings, then Security."
    shot(page, "anchoring-revealed")
    assert Assignment.objects.get(item=item).blind


@pytest.fixture
def tokyo_page(browser, live_server):
    """``tokyo_page(user)``: a logged-in page in a browser whose time zone is Tokyo (the
    server runs in UTC); one browser context per user."""
    contexts = []

    def open_page(user):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
            timezone_id="Asia/Tokyo",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_times_outside_the_editor_show_in_the_browsers_time_zone(
    tokyo_page, settings, project, alice, anna
) -> None:
    assert settings.TIME_ZONE == "UTC"
    item = make_item(project, "How do I reset my password?")
    page = tokyo_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    saved_at = timezone.now().replace(hour=23, minute=5, second=0, microsecond=0) - timedelta(
        days=1
    )
    a = Assignment.objects.get(item=item)
    Assignment.objects.filter(pk=a.pk).update(draft_saved_at=saved_at)
    tokyo = ZoneInfo("Asia/Tokyo")
    local = saved_at.astimezone(tokyo)
    expected = f"{local:%b} {local.day}, {local:%H:%M}"
    assert local.hour == 8  # 23:05 UTC is the next morning in Tokyo
    page.goto("/my-work/")
    assert expected in page.inner_text("#drafts"), page.inner_text("#drafts")
    # The item's history, and the held lease on the Work page.
    page.goto(f"/items/{item.pk}/")
    page.click("#history summary")
    first = item.history.order_by("id").first()
    assert first is not None
    at = first.at.astimezone(tokyo)
    assert f"{at:%b} {at.day}, {at:%H:%M}" in page.inner_text("#history")
    page.goto(f"/projects/{project.slug}/work/")
    a.refresh_from_db()
    until = a.expires_at.astimezone(tokyo)
    assert f"lease until {until:%H:%M}" in page.inner_text(".start-card")
    # The admin's import history.
    from imports.models import ImportJob

    created = timezone.now().replace(hour=22, minute=40, second=0, microsecond=0)
    ImportJob.objects.create(
        project=project, filename="rows.jsonl", status="succeeded", created_at=created
    )
    admin = tokyo_page(alice)
    admin.goto(f"/projects/{project.slug}/import/")
    there = created.astimezone(tokyo)
    assert f"{there:%Y-%m-%d %H:%M}" in admin.inner_text("#history"), admin.inner_text("#history")
