"""Playwright for Python driving Debian's Chromium against the live test server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import PASSWORD, chromium_path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make between page actions are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any, live_server: Any, tmp_path: Path) -> Iterator[Any]:
    """``new_page(user)`` opens a logged-in page; screenshots go to the test's tmp dir."""
    contexts = []

    def open_page(user: Any | None = None) -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.shots = tmp_path
        if user is not None:
            page.goto("/login/")
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> Path:
    path = Path(page.shots) / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SCREENSHOT_DIR"):
        keep = Path(os.environ["SCREENSHOT_DIR"]) / f"{name}.png"
        keep.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(keep), full_page=True)
    return path


def saved(page: Any) -> None:
    """Wait until the editor says its text is saved (a locator wait: the pages' CSP
    forbids the eval a string ``wait_for_function`` needs)."""
    from playwright.sync_api import expect

    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved"))
