"""The model in the loop in Chromium: an admin adds an endpoint and tests it, writes a
prompt version, draws a sample, tries the version on it and marks a draft good, then
drafts the project's items; the annotator opens an item and finds the draft to correct."""

from __future__ import annotations

import pytest

from assist.models import Endpoint, Generation, Rating
from projects import services as project_services
from projects.models import Role
from tests.assist.fake_llm import FakeLLM
from tests.browser import shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_try_a_prompt_on_a_sample_then_draft_and_correct(
    new_page, alice, anna, correct_project, fake_llm: FakeLLM
) -> None:
    project = correct_project
    project_services.set_member(project=project, username="anna", role=Role.ANNOTATOR)
    for n in range(6):
        make_item(project, f"How do I export report number {n}?", tags=["reports"])
    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/model/")
    shot(page, "model-01-empty")

    page.click("#endpoints a:has-text('Add an endpoint')")
    page.wait_for_url("**/model/endpoints/new/")
    page.fill("input[name=name]", "Local llama")
    page.fill("input[name=base_url]", fake_llm.url)
    page.locator("input[name=model]").type("llama3.1:8b")
    assert page.input_value("input[name=family]") == "llama"  # filled from the name
    page.fill("input[name=api_key]", "sk-local-test")
    page.fill("input[name=max_concurrency]", "4")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Saved endpoint")
    assert "A key is stored" in page.inner_text("form.form-grid")
    assert "sk-local-test" not in page.content()
    page.click("button:has-text('Test connection')")
    page.wait_for_selector("#test-result >> text=Connected")
    shot(page, "model-02-endpoint-tested")
    assert Endpoint.objects.get().family == "llama"

    page.goto(f"/projects/{project.slug}/model/prompts/new/")
    page.fill("input[name=name]", "brief v1")
    page.fill("textarea[name=system]", "Answer in one sentence.")
    page.fill("textarea[name=template]", "Customer asks: {{prompt}}")
    page.fill("input[name=temperature]", "0.2")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Saved prompt version")
    page.click("#preview-card button:has-text('Show')")
    page.wait_for_selector("#preview >> text=Customer asks: How do I export report number 0?")
    shot(page, "model-03-prompt-preview")

    page.goto(f"/projects/{project.slug}/model/")
    page.fill("#samples input[name=size]", "3")
    page.fill("#samples input[name=seed]", "5")
    page.click("button:has-text('Draw the sample')")
    page.wait_for_url("**/model/samples/*/")
    page.click("button:has-text('Run on the sample')")
    page.wait_for_url("**/samples/*/?run=*")
    page.wait_for_selector("#trial .badge >> text=Succeeded")
    assert page.locator("#trial .pair").count() == 3
    assert "Draft: Customer asks: How do I export report number" in page.inner_text("#trial")
    first = page.locator("#trial .pair").first
    first.locator("input[name=note]").fill("Short and right.")
    first.locator("button:has-text('Good')").click()
    page.wait_for_selector("#trial >> text=Marked good.")
    shot(page, "model-04-trial-marked")
    assert Rating.objects.get().verdict == "good"
    assert Generation.objects.filter(applied=True).count() == 0

    page.goto(f"/projects/{project.slug}/model/")
    page.select_option("#generate select[name=state]", "queued")
    page.click("button:has-text('Generate drafts')")
    page.wait_for_url("**/model/runs/*/")
    page.wait_for_selector("#run-status .badge >> text=Succeeded")
    assert "applied 6" in page.inner_text("#run-status")
    shot(page, "model-05-run-done")
    page.goto(f"/projects/{project.slug}/model/")
    shot(page, "model-06-model-page")

    worker = new_page(anna)
    worker.goto(f"/projects/{project.slug}/work/")
    worker.click("#start-working")
    worker.wait_for_url("**/items/*/")
    draft = worker.input_value("textarea.turn-input")
    assert draft.startswith("Draft: Customer asks: How do I export report number")
    shot(worker, "model-07-annotator-sees-draft")
