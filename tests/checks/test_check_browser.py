"""The Checks page in a real browser: an admin turns on a project rule with htmx, the
results fragment renders for typed text, and the page reads well."""

from __future__ import annotations

import json

import pytest

from checks.models import CheckConfig
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_configures_a_rule_and_sees_live_results(new_page, alice, project) -> None:
    page = new_page(alice)
    page.goto("/projects/support/checks/")
    assert page.locator(".check-card").count() >= 14
    shot(page, "checks-01-page")

    card = page.locator("#check-required_prefix")
    card.locator("input[name=enabled]").check()
    card.locator("button:has-text('Save')").click()
    page.wait_for_selector("#check-required_prefix >> text=set prefix before enabling")
    card = page.locator("#check-required_prefix")
    card.locator("input[name=opt-prefix]").fill("CloudSync Pro Support:")
    card.locator("input[name=enabled]").check()
    card.locator("button:has-text('Save')").click()
    page.wait_for_selector("#check-required_prefix >> text=Saved.")
    shot(page, "checks-02-rule-saved")
    config = CheckConfig.objects.get(project=project, name="required_prefix")
    assert config.enabled and config.options["prefix"] == "CloudSync Pro Support:"

    # The fragment the annotator's editor swaps in while its user types.
    messages = [
        {"role": "user", "content": "Reset?"},
        {"role": "assistant", "content": "Email me at a@example.com, TODO"},
    ]
    token = page.evaluate("document.body.getAttribute('hx-headers')")
    response = page.request.post(
        "/projects/support/checks/live/",
        form={"messages": json.dumps(messages)},
        headers={"X-CSRFToken": json.loads(token)["x-csrftoken"]},
    )
    assert response.status == 200
    page.set_content(
        "<link rel='stylesheet' href='/static/css/app.css'><link rel='stylesheet' href='/static/css/checks.css'>"
        f"<main class='page'><div class='card' style='max-width:640px'>{response.text()}</div></main>"
    )
    assert page.locator(".badge.fail").count() >= 2  # placeholder and the missing prefix
    assert page.locator(".badge.warn").count() >= 1  # the email address
    shot(page, "checks-03-live-results")


def test_a_bad_pattern_stays_in_the_card_as_typed(new_page, alice, project) -> None:
    page = new_page(alice)
    page.goto("/projects/support/checks/")
    card = page.locator("#check-regex")
    card.locator("input[name=enabled]").check()
    card.locator("summary").click()
    card.locator("input[name=opt-pattern]").fill("([unclosed")
    card.locator("button:has-text('Save')").click()
    page.wait_for_selector("#check-regex >> text=not a valid regular expression")
    card = page.locator("#check-regex")
    assert card.locator("input[name=opt-pattern]").input_value() == "([unclosed"
    assert card.locator("input[name=enabled]").is_checked()
    assert card.locator("details.check-settings").get_attribute("open") is not None
    shot(page, "checks-04-bad-pattern-kept")
    assert not CheckConfig.objects.filter(project=project, name="regex").exists()
