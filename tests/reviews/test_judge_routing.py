"""Targeted review: a stage's sample rate follows the judge's score of the answer (always
review below a score, another rate per score), answers without a judge score use the
stage's plain rate; the rules are set on the policy page and through the project API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from annotation.models import Item
from annotation.states import State
from checks.models import CheckResult
from projects.models import Project
from reviews import decisions, forms, policy, routing, selectors
from reviews.models import ReviewStage, StageVisit
from tests.reviews.conftest import leased, submitted

pytestmark = pytest.mark.django_db


def judged(project: Project, author: Any, score: Any, **kw: Any) -> Item:
    """A checked answer whose judge check gave ``score`` (``None``: an invalid answer)."""
    item = submitted(project, author, **kw)
    assert item.current_revision is not None
    CheckResult.objects.create(
        revision=item.current_revision,
        name="judge",
        outcome="pass",
        details={"score": score, "reason": "Looks fine.", "prompt": 1, "endpoint": 1},
    )
    return item


def one_stage(project: Project, **rules: Any) -> None:
    policy.set_review_stages(
        project=project, stages=[{"name": "Peer", "min_approvals": 1, **rules}]
    )


def routed(item: Item) -> Item:
    assert routing.enter_review(item)
    item.refresh_from_db()
    return item


def test_a_low_score_always_enters_review_even_at_rate_zero(project, anna) -> None:
    one_stage(project, sample_rate=0.0, judge_always_below=2)
    low = routed(judged(project, anna, 1))
    assert (low.state, low.stage) == (State.IN_REVIEW, 0)
    assert StageVisit.objects.filter(item=low, closed_at__isnull=True).exists()
    # At the threshold the rule no longer applies: the plain rate (0) does.
    assert routed(judged(project, anna, 2, prompt="Other")).state == State.APPROVED


def test_a_score_with_rate_zero_is_approved_without_review(project, anna) -> None:
    one_stage(project, sample_rate=1.0, judge_sample_rates={"4": 0.0, "0": 1.0})
    excellent = routed(judged(project, anna, 4))
    assert excellent.state == State.APPROVED
    assert not StageVisit.objects.filter(item=excellent).exists()
    # A score the rates do not name uses the stage's rate.
    assert routed(judged(project, anna, 3, prompt="Other")).state == State.IN_REVIEW


@pytest.mark.parametrize("rate, state", [(0.0, State.APPROVED), (1.0, State.IN_REVIEW)])
def test_no_judge_score_uses_the_plain_sample_rate(project, anna, rate, state) -> None:
    one_stage(project, sample_rate=rate, judge_always_below=3, judge_sample_rates={"4": 1 - rate})
    not_run = routed(submitted(project, anna))
    invalid = routed(judged(project, anna, None, prompt="Invalid"))
    nonsense = routed(judged(project, anna, "four", prompt="Nonsense"))
    assert [not_run.state, invalid.state, nonsense.state] == [state, state, state]


def test_the_latest_judge_result_counts(project, anna) -> None:
    one_stage(project, sample_rate=0.0, judge_always_below=2)
    item = judged(project, anna, 4)
    assert item.current_revision is not None
    CheckResult.objects.create(
        revision=item.current_revision, name="judge", version=2, outcome="warn",
        details={"score": 0, "reason": "Wrong.", "prompt": 2, "endpoint": 1},
    )  # fmt: skip
    assert routed(item).state == State.IN_REVIEW


def test_partial_rates_are_stable_and_follow_the_score(project, anna) -> None:
    stage = ReviewStage(
        project=project, position=0, sample_rate=0.5, judge_sample_rates={"4": 0.1, "0": 0.9}
    )
    assert routing.stage_rate(stage, 4) == 0.1
    assert routing.stage_rate(stage, 0) == 0.9
    assert routing.stage_rate(stage, 2) == 0.5
    assert routing.stage_rate(stage, None) == 0.5
    at_four = [routing.sampled(i, 0, routing.stage_rate(stage, 4)) for i in range(1, 3001)]
    assert at_four == [routing.sampled(i, 0, 0.1) for i in range(1, 3001)]
    assert 0.07 < sum(at_four) / len(at_four) < 0.13


def test_a_later_stage_uses_the_judge_when_an_item_advances(project, anna, rita) -> None:
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "sample_rate": 1.0},
            {"name": "Expert", "sample_rate": 0.0, "judge_always_below": 2},
        ],
    )
    low = routed(judged(project, anna, 0))
    high = routed(judged(project, anna, 4, prompt="Fine"))
    assert (low.stage, high.stage) == (0, 0)
    for _ in range(2):
        held_pk = leased(project, rita)
        assert held_pk is not None
        held = Item.objects.get(pk=held_pk)
        decisions.decide(item=held, reviewer=rita, decision="approve")
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.state, low.stage) == (State.IN_REVIEW, 1)
    assert high.state == State.APPROVED


def test_judge_rules_cost_one_query_and_only_when_set(
    project, anna, django_assert_num_queries
) -> None:
    one_stage(project, sample_rate=1.0, judge_always_below=2)
    item = judged(project, anna, 3)
    # savepoint + release, stages, the judge result, CAS update, transition row, close any
    # open visit, open the new visit
    with django_assert_num_queries(8):
        routing.enter_review(item)


def test_policy_validates_judge_rules(project) -> None:
    bad: list[dict[str, Any]] = [
        {"judge_always_below": 5},
        {"judge_always_below": -1},
        {"judge_always_below": "2"},
        {"judge_always_below": True},
        {"judge_sample_rates": {"5": 0.1}},
        {"judge_sample_rates": {"4": 1.5}},
        {"judge_sample_rates": {"4": "0.1"}},
        {"judge_sample_rates": {"high": 0.1}},
        {"judge_sample_rates": [0.1]},
    ]
    for rules in bad:
        with pytest.raises(ValidationError) as exc:
            one_stage(project, **rules)
        message = " ".join(exc.value.messages)
        assert message.startswith("Peer: ")
        assert policy.JUDGE_BELOW in message or policy.JUDGE_RATES in message, rules
    assert selectors.review_stages(project)[0]["judge_always_below"] is None

    one_stage(project, judge_always_below=2, judge_sample_rates={"4": 0.1, 3: 0.5})
    stage = selectors.review_stages(project)[0]
    assert stage["judge_always_below"] == 2
    assert stage["judge_sample_rates"] == {"3": 0.5, "4": 0.1}
    one_stage(project)  # leaving them out clears them
    stage = selectors.review_stages(project)[0]
    assert (stage["judge_always_below"], stage["judge_sample_rates"]) == (None, {})


def test_project_api_takes_and_shows_judge_rules(api, alice, project) -> None:
    url = f"/api/v1/projects/{project.pk}/"
    stages = [
        {"name": "Peer", "sample_rate": 0.2, "min_approvals": 1, "judge_always_below": 2},
        {"name": "Expert", "sample_rate": 0.5, "judge_sample_rates": {"4": 0.1}},
    ]
    response = api(alice).patch(url, {"review_stages": stages}, format="json")
    assert response.status_code == 200, response.json()
    shown = response.json()["review_stages"]
    assert [(s["judge_always_below"], s["judge_sample_rates"]) for s in shown] == [
        (2, {}),
        (None, {"4": 0.1}),
    ]
    assert [(s["name"], s["sample_rate"], s["min_approvals"]) for s in shown] == [
        ("Peer", 0.2, 1),
        ("Expert", 0.5, 1),
    ]
    assert api(alice).get(url).json()["review_stages"] == shown

    bad: list[dict[str, Any]] = [{"name": "Peer", "judge_sample_rates": {"4": 2}}]
    response = api(alice).patch(url, {"review_stages": bad, "name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert policy.JUDGE_RATES in response.json()["detail"]
    project.refresh_from_db()
    assert project.name != "Renamed"  # nothing half-applied
    assert api(alice).get(url).json()["review_stages"] == shown

    bad = [{"name": "Peer", "judge_always_below": 7}]
    response = api(alice).patch(url, {"review_stages": bad}, format="json")
    assert response.status_code == 400
    assert policy.JUDGE_BELOW in response.json()["detail"]


def _stage_post(**row: str) -> dict[str, str]:
    data = {"section": "stages", "stage-TOTAL_FORMS": "1", "stage-INITIAL_FORMS": "1"}
    fields = {"name": "Peer", "percent": "20", "min_approvals": "1", **row}
    data.update({f"stage-0-{k}": v for k, v in fields.items()})
    return data


def test_policy_page_edits_judge_rules(project) -> None:
    client = Client()
    client.force_login(project.created_by)
    url = f"/projects/{project.slug}/review-policy/"
    page = client.get(url).content.decode()
    assert "always review below 2, sample 10 % at 4" in page
    assert f'href="/projects/{project.slug}/calibration/"' in page

    response = client.post(url, _stage_post(judge_below="2", judge_percents="4: 10, 3 = 50 %"))
    assert response.status_code == 302
    stage = selectors.review_stages(project)[0]
    assert (stage["sample_rate"], stage["judge_always_below"]) == (0.2, 2)
    assert stage["judge_sample_rates"] == {"3": 0.5, "4": 0.1}
    page = client.get(url).content.decode()
    assert 'value="3: 50, 4: 10"' in page  # shown back as a person writes it

    for row, message in [
        ({"judge_percents": "4: 150"}, forms.JUDGE_PERCENTS),
        ({"judge_percents": "five: 10"}, forms.JUDGE_PERCENTS),
        ({"judge_percents": "4"}, forms.JUDGE_PERCENTS),
        ({"judge_below": "9"}, forms.JUDGE_BELOW_FIELD),
    ]:
        response = client.post(url, _stage_post(**row))
        assert response.status_code == 400, row
        assert message in response.content.decode()
    # Failed posts changed nothing; clearing the fields clears the rules.
    assert selectors.review_stages(project)[0]["judge_always_below"] == 2
    assert client.post(url, _stage_post()).status_code == 302
    stage = selectors.review_stages(project)[0]
    assert (stage["judge_always_below"], stage["judge_sample_rates"]) == (None, {})


def test_parse_judge_percents() -> None:
    assert forms.parse_judge_percents("") == {}
    assert forms.parse_judge_percents("0: 100; 4=10%") == {"0": 1.0, "4": 0.1}
    assert forms.format_judge_percents({"4": 0.1, "0": 1.0}) == "0: 100, 4: 10"
    with pytest.raises(ValidationError):
        forms.parse_judge_percents("4: x")
