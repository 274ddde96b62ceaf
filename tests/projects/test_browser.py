"""The foundation in a real browser: log in, create a project, publish a guideline,
acknowledge it as an annotator."""

from __future__ import annotations

import pytest

from projects.models import GuidelineAcknowledgement
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_project_publishes_guideline_annotator_acknowledges(
    new_page, alice, anna, may_create
) -> None:
    page = new_page(may_create(alice))
    shot(page, "01-my-projects-empty")
    page.click("text=New project")
    page.fill("#id_name", "Travel answers")
    page.fill("#id_description", "Answer travellers' questions. Friendly, brief.")
    page.select_option("#id_task_type", "write")
    page.click("button:has-text('Create project')")
    page.wait_for_url("**/projects/travel-answers/")
    assert "You are its admin" in page.inner_text("#messages")
    shot(page, "02-project-overview")

    page.click("nav.tabs >> text=Members")
    page.fill("#id_username", "anna")
    page.select_option("#id_role", "annotator")
    page.click("button:has-text('Save member')")
    page.wait_for_selector("#members >> text=anna")
    shot(page, "03-members")

    page.click("nav.tabs >> text=Guidelines")
    page.fill(
        "#id_body",
        "# Travel answers\n\n- Check visa rules.\n- **Never** guess prices.\n\n<script>alert(1)</script>",
    )
    page.click("button:has-text('Publish')")
    page.wait_for_selector("text=Guideline version 1 published")
    assert page.inner_text("article.markdown h1") == "Travel answers"
    assert page.locator("article.markdown script").count() == 0
    shot(page, "04-guideline-published")

    annotator = new_page(anna)
    annotator.goto("/projects/travel-answers/")
    assert annotator.is_visible("#ack-needed")
    shot(annotator, "05-annotator-must-acknowledge")
    annotator.click("text=Read the guidelines")
    annotator.click("#acknowledge")
    annotator.wait_for_selector("text=You acknowledged guideline version 1")
    shot(annotator, "06-acknowledged")
    assert GuidelineAcknowledgement.objects.filter(user=anna, guideline__version=1).exists()


def test_login_with_a_wrong_password_says_so(new_page, anna) -> None:
    page = new_page()
    page.goto("/login/")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text("[role=alert]")
