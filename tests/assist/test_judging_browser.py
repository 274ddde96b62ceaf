"""The judge in a real browser: from the Model page, judge a sample's generation run,
open its report, read the distribution and the lowest-scored item."""

from __future__ import annotations

import pytest

from tests.assist.fake_llm import FakeLLM
from tests.assist.judging_helpers import endpoint, generation_run, judge_prompt, sample_of
from tests.browser import shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_judges_a_generation_run_and_reads_the_report(
    new_page, alice, project, fake_llm: FakeLLM
) -> None:
    drafter = endpoint(project, fake_llm.url, model="gpt-4o-mini", family="openai", name="Drafter")
    judge = endpoint(project, fake_llm.url, family="mistral", name="Mistral judge")
    prompt = judge_prompt(project, "Five-point judge")
    items = [make_item(project, f"How do I fix problem {n}?", tags=["billing"]) for n in range(4)]
    texts = ["Restart it. SCORE=0", "Check the cable. SCORE=3", "Update. SCORE=4", "Ask. SCORE=2"]
    run = generation_run(project, drafter, dict(zip(items, texts, strict=True)))
    sample = sample_of(project, items)

    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/model/")
    section = page.locator("#judge-section")
    section.get_by_label("Judge endpoint").select_option(str(judge.pk))
    section.get_by_label("Judge prompt").select_option(str(prompt.pk))
    section.get_by_label("What to judge").select_option("generation")
    section.get_by_label("Generation run").select_option(str(run.pk))
    section.get_by_label("Sample").select_option(str(sample.pk))
    shot(page, "judge-01-form")
    section.get_by_role("button", name="Start judge run").click()
    page.wait_for_url("**/model/judgements/*/")
    page.wait_for_selector("text=Succeeded")
    page.wait_for_selector("text=over 4 scored items")
    shot(page, "judge-02-report")

    rows = page.locator("table.judge-distribution tbody tr")
    assert rows.count() == 6  # 0 to 4, and invalid
    counts = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(6)]
    assert counts == ["1", "0", "1", "1", "1", "0"]
    assert "Mean 2.25 over 4 scored items" in page.locator(".judge-mean").inner_text()
    lowest = page.locator(".judge-item").first
    assert "Restart it. SCORE=0" in lowest.inner_text()
    assert "Scored 0 by the test judge." in lowest.inner_text()
    assert "0 · very bad" in lowest.inner_text()
    lowest.get_by_role("link").first.click()
    page.wait_for_url(f"**/items/{items[0].pk}/")
