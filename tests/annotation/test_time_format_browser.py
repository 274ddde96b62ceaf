"""The editor's lease and saved times, rewritten by its script after a save, use the
same 24-hour HH:MM as the server-rendered page, even in a 12-hour (en-US) browser."""

from __future__ import annotations

import re

import pytest

from tests.browser import saved
from tests.factories import make_item
from tests.services import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HHMM = re.compile(r"\b\d{2}:\d{2}\b")
AM_PM = re.compile(r"\b[AP]\.?M\.?\b", re.IGNORECASE)


@pytest.fixture
def us_page(browser, live_server):
    """A logged-in page in an en-US browser, whose default time format is 12-hour."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        timezone_id="America/New_York",
    )
    context.set_default_timeout(10_000)

    def open_page(user):
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_page
    context.close()


def test_lease_and_saved_times_are_24_hour_after_the_script_updates_them(
    us_page, project, anna
) -> None:
    make_item(project, "How do I reset my password?")
    page = us_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url("**/items/*/")
    served = page.inner_text("#lease")
    assert HHMM.search(served) and not AM_PM.search(served), served
    page.locator("textarea.turn-input").type("Open Settings, then Reset password.")
    saved(page)
    # The save answered with a new lease time, which the script wrote into #lease.
    lease = page.inner_text("#lease")
    status = page.inner_text("#save-status")
    for text in (lease, status):
        assert HHMM.search(text), text
        assert not AM_PM.search(text), text
    assert lease.startswith("held until ")
    assert re.fullmatch(r"held until \d{2}:\d{2}", lease), lease
