"""Routing items through review stages: default policy, stable sampling, advancing,
approval after the last stage, rework re-entering at the rejecting stage, and policy
changes applying only to items that have not reached the changed stage."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Transition
from annotation.states import State
from annotation.transitions import transition
from reviews import decisions, policy, routing, selectors, services
from reviews.models import ReasonCode, ReviewStage, RubricCriterion, StageVisit
from tests.factories import make_item
from tests.reviews.conftest import in_review, leased, submitted

pytestmark = pytest.mark.django_db


def test_new_project_has_one_review_stage_and_default_rubric_and_reasons(project) -> None:
    assert selectors.review_stages(project) == [
        {
            "name": "Review",
            "sample_rate": 1.0,
            "min_approvals": 1,
            "reviewers": [],
            "allow_prior_reviewers": False,
            "judge_always_below": None,
            "judge_sample_rates": {},
        }
    ]
    keys = list(RubricCriterion.objects.filter(project=project).values_list("key", flat=True))
    assert keys == ["accuracy", "helpfulness", "clarity", "tone", "safety"]
    assert ReasonCode.objects.filter(project=project).count() >= 5


def test_set_review_stages_validates(project, rita, anna) -> None:
    bad: list[tuple[Any, str]] = [
        ([], policy.NO_STAGES),
        ([{"name": " ", "sample_rate": 1, "min_approvals": 1}], policy.STAGE_NAME),
        ([{"name": "A", "sample_rate": 1.5, "min_approvals": 1}], policy.SAMPLE_RATE),
        ([{"name": "A", "sample_rate": "x", "min_approvals": 1}], policy.SAMPLE_RATE),
        ([{"name": "A", "sample_rate": 1, "min_approvals": 0}], policy.MIN_APPROVALS),
        ([{"name": "A", "sample_rate": 1, "min_approvals": "2"}], policy.MIN_APPROVALS),
        ([{"name": "A"}, {"name": "a"}], policy.STAGE_NAMES_UNIQUE),
        ([{"name": "A", "reviewers": ["anna"]}], "'anna' is not a reviewer"),
    ]
    for stages, message in bad:
        with pytest.raises(ValidationError) as exc:
            policy.set_review_stages(project=project, stages=stages)
        assert message in " ".join(exc.value.messages), stages
    # Nothing half-applied.
    assert [s["name"] for s in selectors.review_stages(project)] == ["Review"]

    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer review", "sample_rate": 1, "min_approvals": 2},
            {
                "name": "Expert review",
                "sample_rate": 0.2,
                "min_approvals": 1,
                "reviewers": ["rita"],
            },
        ],
    )
    assert selectors.review_stages(project)[1] == {
        "name": "Expert review",
        "sample_rate": 0.2,
        "min_approvals": 1,
        "reviewers": ["rita"],
        "allow_prior_reviewers": False,
        "judge_always_below": None,
        "judge_sample_rates": {},
    }


def test_sampling_is_stable_and_close_to_the_rate() -> None:
    picks = [routing.sampled(i, 1, 0.2) for i in range(1, 5001)]
    assert picks == [routing.sampled(i, 1, 0.2) for i in range(1, 5001)]
    assert 0.17 < sum(picks) / len(picks) < 0.23
    # Another stage samples a different set.
    assert picks != [routing.sampled(i, 2, 0.2) for i in range(1, 5001)]
    assert all(routing.sampled(i, 0, 1.0) for i in range(1, 100))
    assert not any(routing.sampled(i, 0, 0.0) for i in range(1, 100))


def test_items_enter_the_first_stage_that_samples_them(project, anna) -> None:
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Spot check", "sample_rate": 0.5, "min_approvals": 1},
            {"name": "Final", "sample_rate": 1, "min_approvals": 1},
        ],
    )
    items = [in_review(project, anna, prompt=f"Question {n}?") for n in range(40)]
    for item in items:
        expected = 0 if routing.sampled(item.pk, 0, 0.5) else 1
        assert item.state == State.IN_REVIEW
        assert item.stage == expected
        assert StageVisit.objects.get(item=item, closed_at=None).stage == expected
    stages = {item.stage for item in items}
    assert stages == {0, 1}  # some sampled, some not


def test_no_stage_samples_the_item_means_approved(project, anna) -> None:
    policy.set_review_stages(
        project=project, stages=[{"name": "Never", "sample_rate": 0, "min_approvals": 1}]
    )
    item = submitted(project, anna)
    routing.enter_review(item)
    item.refresh_from_db()
    assert item.state == State.APPROVED
    assert Transition.objects.filter(item=item, event="checks_passed_no_review").exists()


def test_approvals_advance_through_stages_then_approve(project, anna, rita, ravi) -> None:
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "sample_rate": 1, "min_approvals": 1},
            {"name": "Expert", "sample_rate": 1, "min_approvals": 1, "allow_prior_reviewers": True},
        ],
    )
    item = in_review(project, anna)
    lease = services.next_for_review(project=project, reviewer=rita)
    assert lease is not None and lease.item_id == item.pk
    decisions.decide(item=item, reviewer=rita, decision="approve")
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.IN_REVIEW, 1)
    assert leased(project, ravi) == item.pk
    decisions.decide(item=item, reviewer=ravi, decision="approve")
    item.refresh_from_db()
    assert item.state == State.APPROVED
    events = list(Transition.objects.filter(item=item).values_list("event", "to_stage"))
    assert events == [("checks_passed", 0), ("advance_stage", 1), ("approve", 1)]


def test_rework_re_enters_at_the_stage_that_rejected(project, anna, rita, ravi) -> None:
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "sample_rate": 1, "min_approvals": 1},
            {"name": "Expert", "sample_rate": 1, "min_approvals": 1, "reviewers": ["ravi"]},
        ],
    )
    item = in_review(project, anna)
    services.next_for_review(project=project, reviewer=rita)
    decisions.decide(item=item, reviewer=rita, decision="approve")
    item.refresh_from_db()
    services.next_for_review(project=project, reviewer=ravi)
    decisions.decide(
        item=item,
        reviewer=ravi,
        decision="reject",
        reasons=["incomplete"],
        feedback="Mention two-factor authentication.",
    )
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.RETURNED, 1)
    # The annotator reworks it and resubmits; checks pass.
    assert transition(item, to=State.SUBMITTED, actor=anna)
    routing.enter_review(item)
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.IN_REVIEW, 1)


def test_policy_change_applies_to_items_not_yet_at_the_stage(project, anna, rita, ravi) -> None:
    policy.set_review_stages(
        project=project, stages=[{"name": "Peer", "sample_rate": 1, "min_approvals": 1}]
    )
    waiting = in_review(project, anna, prompt="Already waiting")
    policy.set_review_stages(
        project=project, stages=[{"name": "Peer", "sample_rate": 1, "min_approvals": 2}]
    )
    later = in_review(project, anna, prompt="Arrives later")
    assert StageVisit.objects.get(item=waiting).min_approvals == 1
    assert StageVisit.objects.get(item=later).min_approvals == 2
    services.next_for_review(project=project, reviewer=rita)
    decisions.decide(item=waiting, reviewer=rita, decision="approve")
    waiting.refresh_from_db()
    assert waiting.state == State.APPROVED


def test_routing_runs_a_fixed_number_of_queries(project, anna, django_assert_num_queries) -> None:
    for n in range(5):
        in_review(project, anna, prompt=f"Earlier {n}")
    item = make_item(project, answer="A", author=anna, state=State.SUBMITTED)
    # savepoint + release (outer), stages, CAS update, transition row, close any open
    # visit, open the new visit (the transition adds no savepoint of its own)
    with django_assert_num_queries(7):
        routing.enter_review(item)
    assert ReviewStage.objects.filter(project=project).count() == 1
