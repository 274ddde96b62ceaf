"""Reports of judgement runs on known scores: the distribution, the mean and its
interval, the lowest items, the breakdowns, paired deltas between two runs, and the
pages, with their query counts pinned."""

from __future__ import annotations

import math
import statistics

import pytest

from assist import judging, reports
from assist.judging_run import run_judgement_job
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.assist.judging_helpers import (
    endpoint,
    generation_run,
    items_with_scores,
    judge_prompt,
    sample_of,
)
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _judged(project, alice, url: str, **start) -> Job:
    judge = endpoint(project, url, name=f"judge {Job.objects.count()}")
    job = judging.start_judgement(
        project=project,
        actor=alice,
        endpoint=judge.pk,
        prompt=start.pop("prompt", None) or judge_prompt(project, f"j{Job.objects.count()}").pk,
        **start,
    )
    run_judgement_job(job.pk)
    job.refresh_from_db()
    return job


def test_the_report_counts_scores_and_says_where_it_fails(project, alice, fake_llm: FakeLLM):
    scores = [0, 1, 1, 2, 3, 4, 4, 4]
    billing = items_with_scores(project, scores[:4], tags=["billing"], metadata={"lang": "de"})
    other = items_with_scores(project, scores[4:], tags=["login"], metadata={"lang": "en"})
    long_prompt = make_item(project, "x" * 250 + "?", answer="Long one SCORE=1")
    job = _judged(project, alice, fake_llm.url)

    report = reports.judgement_report(job)
    counts = {d["label"]: d["count"] for d in report["distribution"]}
    assert counts == {"very bad": 1, "bad": 3, "moderate": 1, "good": 1, "excellent": 3}
    assert report["invalid"] == 0 and report["n"] == 9
    every = [*scores, 1]
    assert report["mean"]["mean"] == round(statistics.fmean(every), 3)
    half = 2.306 * statistics.stdev(every) / math.sqrt(9)  # t for 8 degrees of freedom
    low, high = report["mean"]["ci95"]
    assert low == pytest.approx(statistics.fmean(every) - half, abs=1e-3)
    assert high == pytest.approx(statistics.fmean(every) + half, abs=1e-3)

    lowest = report["lowest"]
    assert [row["score"] for row in lowest[:4]] == [0, 1, 1, 1]
    assert lowest[0]["item"] == billing[0].pk and lowest[0]["text"] == "Answer 0. SCORE=0"
    assert lowest[0]["reason"] == "Scored 0 by the test judge." and lowest[0]["label"] == "very bad"

    tags = {g["value"]: g for g in report["breakdowns"]["tags"]}
    assert tags["billing"] == {"value": "billing", "n": 4, "mean": 1.0, "low_share": 0.75}
    assert tags["login"]["mean"] == 3.75 and tags["login"]["low_share"] == 0.0
    assert report["breakdowns"]["tags"][0]["value"] == "billing"  # the failing subset first
    lang = {g["value"]: g["n"] for g in report["breakdowns"]["metadata"]["lang"]}
    assert lang == {"de": 4, "en": 4}
    length = {g["value"]: g for g in report["breakdowns"]["length"]}
    assert length["200-999 chars"] == {
        "value": "200-999 chars",
        "n": 1,
        "mean": 1.0,
        "low_share": 1.0,
    }
    assert length["under 200 chars"]["n"] == 8
    assert other and long_prompt


def test_invalid_answers_never_enter_the_mean(project, alice, fake_llm: FakeLLM):
    items_with_scores(project, [4, 0])
    judge = endpoint(project, fake_llm.url, model="nonsense")
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    run_judgement_job(job.pk)
    report = reports.judgement_report(job)
    assert report["invalid"] == 2 and report["mean"]["n"] == 0 and report["mean"]["mean"] is None
    assert sum(d["count"] for d in report["distribution"]) == 0
    assert report["invalid_items"][0]["raw"].startswith("What a lovely answer")


def test_two_prompt_versions_compare_item_by_item(project, alice, fake_llm: FakeLLM):
    drafter = endpoint(project, fake_llm.url, model="gpt-4o-mini", family="openai", name="d")
    items = [make_item(project, f"Question {n}?") for n in range(5)]
    sample = sample_of(project, items)
    before = generation_run(
        project, drafter, {i: f"v1 SCORE={k}" for i, k in zip(items, [1, 1, 2, 3, 4])}
    )
    after = generation_run(
        project, drafter, {i: f"v2 SCORE={k}" for i, k in zip(items, [3, 1, 4, 3, 2])}
    )
    prompt = judge_prompt(project).pk
    a = _judged(project, alice, fake_llm.url, generation=before.pk, sample=sample.pk, prompt=prompt)
    judge_id = a.params["endpoint"]
    b_job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge_id, prompt=prompt, generation=after.pk,
        sample=sample.pk,
    )  # fmt: skip
    run_judgement_job(b_job.pk)

    c = reports.compare_runs(a, b_job)
    assert c["same_judge"] and c["paired"] == 5
    deltas = [2, 0, 2, 0, -2]
    assert c["delta"]["mean"] == 0.4
    half = 2.776 * statistics.stdev(deltas) / math.sqrt(5)
    assert c["delta"]["ci95"][0] == pytest.approx(0.4 - half, abs=1e-3)
    assert (c["wins"], c["ties"], c["losses"]) == (2, 2, 1)
    assert [row["item"] for row in c["changed"]] == [items[0].pk, items[2].pk, items[4].pk]
    assert c["changed"][0]["a"]["text"] == "v1 SCORE=1" and c["changed"][0]["b"]["score"] == 3


def test_the_report_page_shows_the_figures_in_constant_queries(
    client, project, alice, fake_llm: FakeLLM, django_assert_num_queries
):
    items_with_scores(project, [0, 2, 4], tags=["billing"])
    job = _judged(project, alice, fake_llm.url)
    client.force_login(alice)
    url = f"/projects/{project.slug}/model/judgements/{job.pk}/"
    # session, user, project, membership, the run, its judgements with what was judged
    with django_assert_num_queries(6):
        page = client.get(url).content.decode()
    assert "Mean <strong>2.00</strong> over 3 scored items" in page
    assert "Answer 0. SCORE=0" in page and "0 · very bad" in page
    assert f'href="/items/{job.params["items"][0]}/"' in page
    items_with_scores(project, [1, 1, 3, 3, 3], tags=["login"], metadata={"lang": "fr"})
    bigger = _judged(project, alice, fake_llm.url)
    with django_assert_num_queries(6):
        client.get(f"/projects/{project.slug}/model/judgements/{bigger.pk}/")


def test_the_override_is_shown_on_the_report_and_compare_pages(
    client, project, alice, fake_llm: FakeLLM
):
    drafter = endpoint(project, fake_llm.url, model="mistral-small", family="mistral", name="d")
    items = [make_item(project, "Q1"), make_item(project, "Q2")]
    run = generation_run(project, drafter, {items[0]: "SCORE=1", items[1]: "SCORE=3"})
    job = _judged(project, alice, fake_llm.url, generation=run.pk, allow_same_family=True)
    note = "Same-family override: the judge and the drafting model are both mistral."
    client.force_login(alice)
    assert (
        note in client.get(f"/projects/{project.slug}/model/judgements/{job.pk}/").content.decode()
    )
    other = _judged(project, alice, fake_llm.url, generation=run.pk, allow_same_family=True)
    page = client.get(
        f"/projects/{project.slug}/model/judgements/compare/?a={job.pk}&b={other.pk}"
    ).content.decode()
    assert note in page and "3 · good" not in page  # nothing changed between the two
    assert "0 / 2 / 0" in page


def test_the_api_compares_two_runs_and_refuses_foreign_ones(
    api, project, other_project, alice, oscar, fake_llm: FakeLLM
):
    items_with_scores(project, [2, 3])
    a = _judged(project, alice, fake_llm.url)
    b = _judged(project, alice, fake_llm.url)
    url = f"/api/v1/projects/{project.pk}/judgements/compare/"
    body = api(alice).get(url, {"a": a.pk, "b": b.pk}).json()
    assert body["paired"] == 2 and body["delta"]["mean"] == 0.0 and body["ties"] == 2
    assert api(alice).get(url, {"a": a.pk}).status_code == 400
    assert api(alice).get(url, {"a": a.pk, "b": 10**6}).status_code == 404
    assert api(oscar).get(url, {"a": a.pk, "b": b.pk}).status_code == 404


def test_the_interval_stays_on_the_scale():
    assert reports.mean_ci([0, 4]).as_dict() == {"n": 2, "mean": 2.0, "ci95": [0.0, 4.0]}
    assert reports.mean_ci([3]).as_dict() == {"n": 1, "mean": 3.0, "ci95": [None, None]}
    assert reports.mean_ci([]).as_dict() == {"n": 0, "mean": None, "ci95": [None, None]}
    assert reports.mean_ci([-4, 4], bounds=(-4.0, 4.0)).low == -4.0
