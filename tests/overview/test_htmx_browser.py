"""htmx forms in a real browser, in the demo (DEBUG) and in production: a form that fails
validation shows its errors in place on the styled page, and a flash message appears on
the page whose action caused it, not later on another one."""

from __future__ import annotations

import pytest

from projects.models import Membership
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


def test_member_form_errors_show_in_place_and_messages_on_this_page(
    new_page, alice, anna, project, debug
) -> None:
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/members/")
    page.fill("#id_username", "nobody")
    page.click("button:has-text('Save member')")
    page.wait_for_selector("#members >> text=There is no user called 'nobody'")
    # Still the whole, styled page: the top bar and the tabs are there, nothing replaced it.
    assert page.is_visible("header.topbar") and page.is_visible("nav.tabs")
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    shot(page, f"members-error-{'debug' if debug else 'production'}")

    page.fill("#id_username", "anna")
    page.select_option("#id_role", "reviewer")
    page.click("button:has-text('Save member')")
    page.wait_for_selector("#messages >> text=anna is now reviewer here.")
    assert Membership.objects.get(project=project, user=anna).role == "reviewer"
    # The message was shown here, so the next page does not repeat it.
    page.goto("/projects/")
    assert "anna is now reviewer here." not in page.inner_text("#messages")
