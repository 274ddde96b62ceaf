"""Each decision path, self-review refusal, overlap selection, agreement, and approval
counting under concurrency."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from annotation.messages import MESSAGES_END
from annotation.models import Revision, RevisionKind, Transition
from annotation.states import State
from checks.models import CheckResult
from reviews import decisions, policy, routing, selectors, services
from reviews.models import Review, ReviewAgreement, ReviewLease, RubricCriterion, StageVisit
from tests.factories import make_item
from tests.reviews.conftest import in_review, leased
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


def take(project, reviewer, item):
    lease = services.next_for_review(project=project, reviewer=reviewer)
    assert lease is not None and lease.item_id == item.pk
    return lease


def test_approve_with_rubric_scores(project, anna, rita) -> None:
    item = in_review(project, anna)
    take(project, rita, item)
    review = decisions.decide(
        item=item, reviewer=rita, decision="approve", scores={"accuracy": 5, "clarity": "4"}
    )
    assert review.scores == {"accuracy": 5, "clarity": 4}
    assert review.revision_id == item.current_revision_id
    item.refresh_from_db()
    assert item.state == State.APPROVED
    assert not ReviewLease.objects.exists()


def test_rubric_scores_are_validated_and_required_ones_enforced(project, anna, rita) -> None:
    RubricCriterion.objects.filter(project=project, key="accuracy").update(required=True)
    item = in_review(project, anna)
    take(project, rita, item)
    cases: list[tuple[Any, str]] = [
        ({"accuracy": 6}, "1 to 5"),
        ({"accuracy": "x"}, "1 to 5"),
        ({"accuracy": True}, "1 to 5"),
        ({"vibes": 3, "accuracy": 3}, "Unknown rubric criterion"),
        ({"clarity": 3}, "Score 'Accuracy'"),
    ]
    for scores, message in cases:
        with pytest.raises(ValidationError) as exc:
            decisions.decide(item=item, reviewer=rita, decision="approve", scores=scores)
        assert message in " ".join(exc.value.messages)
    # A rejection needs no scores.
    decisions.decide(
        item=item, reviewer=rita, decision="reject", reasons=["incomplete"], feedback="More."
    )


def test_reject_needs_reasons_and_feedback_and_returns_the_item(
    project, alice, anna, rita, api, client
) -> None:
    item = in_review(project, anna)
    take(project, rita, item)
    with pytest.raises(ValidationError, match="feedback"):
        decisions.decide(item=item, reviewer=rita, decision="reject", reasons=["incomplete"])
    with pytest.raises(ValidationError, match="reason"):
        decisions.decide(item=item, reviewer=rita, decision="reject", feedback="Add the steps.")
    with pytest.raises(ValidationError, match="Unknown reason"):
        decisions.decide(
            item=item, reviewer=rita, decision="reject", reasons=["nope"], feedback="x"
        )
    decisions.decide(
        item=item,
        reviewer=rita,
        decision="reject",
        reasons=["incomplete", "guidelines"],
        feedback="Add the steps for the mobile app.",
    )
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.RETURNED, 0)
    move = Transition.objects.filter(item=item).last()
    assert move is not None
    assert move.event == "reject" and move.actor == rita
    assert move.reason == "Rejected at Review: Incomplete answer, Does not follow the guidelines."
    assert move.data["annotator"] == anna.pk
    feedback = selectors.latest_feedback(item)
    assert feedback is not None
    assert feedback["feedback"] == "Add the steps for the mobile app."
    assert feedback["reason_labels"] == ["Incomplete answer", "Does not follow the guidelines"]
    # The annotator reads it through the API.
    response = api(anna).get(f"/api/v1/items/{item.pk}/reviews/")
    assert response.status_code == 200
    assert response.json()[0]["feedback"] == "Add the steps for the mobile app."
    # And on the item page, where the decision reads as done.
    client.force_login(alice)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "Rejected by rita" in page and "Reject by" not in page


def test_edit_and_approve_makes_a_reviewer_revision_and_runs_checks(
    project, anna, rita, django_capture_on_commit_callbacks
) -> None:
    item = in_review(project, anna, answer="Open settings.")
    original = item.current_revision
    assert original is not None
    take(project, rita, item)
    new_messages = [
        *original.messages[:-1],
        {"role": "assistant", "content": "Open Settings → Security."},
    ]
    with pytest.raises(ValidationError, match="changes nothing"):
        decisions.decide(item=item, reviewer=rita, decision="edit", messages=original.messages)
    with pytest.raises(ValidationError, match=re.escape(MESSAGES_END)):
        decisions.decide(
            item=item, reviewer=rita, decision="edit", messages=[{"role": "user", "content": "x"}]
        )
    with django_capture_on_commit_callbacks(execute=True):
        review = decisions.decide(item=item, reviewer=rita, decision="edit", messages=new_messages)
    item.refresh_from_db()
    assert review.edited_revision_id is not None
    edited = Revision.objects.get(pk=review.edited_revision_id)
    assert edited.kind == RevisionKind.REVIEWER_EDIT
    assert edited.author == rita and edited.base == original
    assert edited.messages == new_messages
    assert item.current_revision == edited
    assert item.state == State.APPROVED  # counted as the one approval needed
    # The edit was checked like any submission; the item's route is unchanged by it.
    assert CheckResult.objects.filter(revision=edited).exists()
    # The annotator's revision is kept.
    assert Revision.objects.filter(item=item).count() == 2


def test_flag_takes_the_item_out_and_needs_a_reason(project, anna, rita) -> None:
    item = in_review(project, anna)
    take(project, rita, item)
    with pytest.raises(ValidationError, match="why you flag"):
        decisions.decide(item=item, reviewer=rita, decision="flag")
    decisions.decide(
        item=item, reviewer=rita, decision="flag", feedback="Contains a real phone number."
    )
    item.refresh_from_db()
    assert item.state == State.FLAGGED
    assert Transition.objects.filter(item=item, event="flag").exists()


def test_never_their_own_work(project, rita) -> None:
    own = in_review(project, rita, prompt="Rita answered this one")
    assert services.next_for_review(project=project, reviewer=rita) is None
    with pytest.raises(PermissionDenied):
        decisions.decide(item=own, reviewer=rita, decision="approve")


def test_not_an_item_reviewed_at_an_earlier_stage_by_default(project, anna, rita) -> None:
    policy.set_review_stages(
        project=project,
        stages=[{"name": "Peer", "min_approvals": 1}, {"name": "Expert", "min_approvals": 1}],
    )
    item = in_review(project, anna)
    take(project, rita, item)
    decisions.decide(item=item, reviewer=rita, decision="approve")
    assert services.next_for_review(project=project, reviewer=rita) is None
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "min_approvals": 1},
            {"name": "Expert", "min_approvals": 1, "allow_prior_reviewers": True},
        ],
    )
    assert leased(project, rita) == item.pk


def test_deciding_without_holding_the_item_is_a_conflict(project, anna, rita, ravi) -> None:
    item = in_review(project, anna)
    with pytest.raises(decisions.ReviewConflict):
        decisions.decide(item=item, reviewer=rita, decision="approve")
    take(project, ravi, item)
    decisions.decide(item=item, reviewer=ravi, decision="approve")
    with pytest.raises(decisions.ReviewConflict):
        decisions.decide(item=item, reviewer=rita, decision="approve")


def test_leases_cap_reviewers_at_the_approvals_needed(project, anna, rita, ravi, rosa) -> None:
    policy.set_review_stages(project=project, stages=[{"name": "Peer", "min_approvals": 2}])
    item = in_review(project, anna)
    assert leased(project, rita) == item.pk
    assert leased(project, ravi) == item.pk
    assert services.next_for_review(project=project, reviewer=rosa) is None
    # Asking again returns the item already held.
    assert leased(project, rita) == item.pk
    services.release_review(item=item, reviewer=rita)
    assert leased(project, rosa) == item.pk


def test_two_approvals_needed_and_agreement_recorded(project, anna, rita, ravi) -> None:
    policy.set_review_stages(project=project, stages=[{"name": "Peer", "min_approvals": 2}])
    item = in_review(project, anna)
    take(project, rita, item)
    take(project, ravi, item)
    decisions.decide(
        item=item, reviewer=rita, decision="approve", scores={"accuracy": 5, "tone": 3}
    )
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW
    assert StageVisit.objects.get(item=item).approvals == 1
    decisions.decide(
        item=item, reviewer=ravi, decision="approve", scores={"accuracy": 4, "tone": 3}
    )
    item.refresh_from_db()
    assert item.state == State.APPROVED
    agreement = ReviewAgreement.objects.get()
    assert agreement.decision_agrees is True
    assert agreement.rubric_agreement == pytest.approx(1 - 1 / 8)
    report = selectors.agreement_by_stage(project)
    assert report == [
        {
            "stage": 0,
            "name": "Peer",
            "pairs": 1,
            "decision_agreement": 1.0,
            "rubric_agreement": 0.875,
        }
    ]


def test_a_disagreeing_rejection_is_recorded_as_disagreement(project, anna, rita, ravi) -> None:
    policy.set_review_stages(project=project, stages=[{"name": "Peer", "min_approvals": 2}])
    item = in_review(project, anna)
    take(project, rita, item)
    take(project, ravi, item)
    decisions.decide(item=item, reviewer=rita, decision="approve")
    decisions.decide(
        item=item, reviewer=ravi, decision="reject", reasons=["inaccurate"], feedback="Wrong."
    )
    assert ReviewAgreement.objects.get().decision_agrees is False
    item.refresh_from_db()
    assert item.state == State.RETURNED


def test_overlap_reviewer_picks_the_best_answer(project, anna, rita, ravi) -> None:
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = make_item(project, answer="Short answer.", author=anna, state=State.SUBMITTED)
    other = Revision.objects.create(
        item=item,
        messages=[*item.source, {"role": "assistant", "content": "A longer, better answer."}],
        kind=RevisionKind.SUBMISSION,
        author=ravi,
    )
    item.current_revision = other
    item.save(update_fields=["current_revision"])
    routing.enter_review(item)
    first = item.revisions.order_by("id").first()
    assert first is not None
    assert [r.pk for r in decisions.answer_candidates(item)] == [first.pk, other.pk]
    take(project, rita, item)
    with pytest.raises(ValidationError, match="pick the best"):
        decisions.decide(item=item, reviewer=rita, decision="approve")
    with pytest.raises(ValidationError, match="not one of"):
        decisions.decide(item=item, reviewer=rita, decision="approve", picked_revision=999999)
    review = decisions.decide(
        item=item, reviewer=rita, decision="approve", picked_revision=first.pk
    )
    item.refresh_from_db()
    assert item.current_revision_id == first.pk
    assert review.revision_id == first.pk
    assert review.alternatives == [other.pk]
    assert decisions.answer_candidates(item) == []


def test_overlap_annotators_cannot_review_the_item(project, anna, rita, ravi) -> None:
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = make_item(project, answer="One.", author=anna, state=State.SUBMITTED)
    Revision.objects.create(
        item=item,
        messages=[*item.source, {"role": "assistant", "content": "Two."}],
        kind=RevisionKind.SUBMISSION,
        author=ravi,
    )
    routing.enter_review(item)
    assert services.next_for_review(project=project, reviewer=ravi) is None
    assert leased(project, rita) == item.pk


def test_check_writes_nothing_and_do_rechecks_under_the_lock(project, anna, rita, ravi) -> None:
    """A decision checked while the item was still open conflicts when another decision
    closed the stay, or changed the answer, before it is written."""
    item = in_review(project, anna)
    lease = take(project, rita, item)
    ReviewLease.objects.create(
        visit=lease.visit, item=item, reviewer=ravi, expires_at=lease.expires_at
    )
    checked = decisions.check_decision(item=item, reviewer=rita, decision="approve")
    late = decisions.check_decision(item=item, reviewer=ravi, decision="approve")
    assert checked.visit_id == lease.visit_id and checked.revision == item.current_revision
    assert not Review.objects.filter(item=item).exists()
    decisions.do_decision(checked)
    with pytest.raises(decisions.ReviewConflict, match=re.escape(decisions.MOVED_ON)):
        decisions.do_decision(late)
    assert Review.objects.filter(item=item).count() == 1

    policy.set_review_stages(project=project, stages=[{"name": "Peer", "min_approvals": 2}])
    item = in_review(project, anna, prompt="Two reviewers")
    take(project, rita, item)
    take(project, ravi, item)
    approve = decisions.check_decision(item=item, reviewer=rita, decision="approve")
    source = item.source
    decisions.decide(
        item=item,
        reviewer=ravi,
        decision="edit",
        messages=[*source, {"role": "assistant", "content": "Edited by ravi."}],
    )
    with pytest.raises(decisions.ReviewConflict, match=re.escape(decisions.ANSWER_CHANGED)):
        decisions.do_decision(approve)
    assert ReviewLease.objects.filter(item=item, reviewer=rita).exists()  # still hers


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_advance_exactly_once(project, anna, rita, ravi, rosa) -> None:
    """Two reviewers approve at once at a stage needing 2: both approvals count, and
    the item advances once. Repeated with a stage needing 1: one wins, one conflicts."""
    require_postgres()
    policy.set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "min_approvals": 2},
            {"name": "Final", "min_approvals": 1, "reviewers": ["rosa"]},
        ],
    )
    for round_ in range(5):
        item = in_review(project, anna, prompt=f"Concurrent {round_}")
        take(project, rita, item)
        take(project, ravi, item)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def approve(user, item_id=item.pk) -> None:
            from annotation.models import Item

            try:
                mine = Item.objects.select_related("project").get(pk=item_id)
                barrier.wait()
                decisions.decide(item=mine, reviewer=user, decision="approve")
                outcomes.append("ok")
            except Exception as exc:  # recorded and asserted below
                outcomes.append(type(exc).__name__)
            finally:
                connection.close()

        threads = [threading.Thread(target=approve, args=(u,)) for u in (rita, ravi)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["ok", "ok"]
        item.refresh_from_db()
        assert (item.state, item.stage) == (State.IN_REVIEW, 1)
        assert Transition.objects.filter(item=item, event="advance_stage").count() == 1
        assert StageVisit.objects.get(item=item, stage=0).approvals == 2
        assert Review.objects.filter(item=item, stage=0).count() == 2
        # Clear the final stage for the next round.
        take(project, rosa, item)
        decisions.decide(item=item, reviewer=rosa, decision="approve")

    policy.set_review_stages(project=project, stages=[{"name": "Peer", "min_approvals": 1}])
    item = in_review(project, anna, prompt="One approval")
    lease = take(project, rita, item)
    # ravi holds it too (a stale lease from before the policy change would do the same).
    ReviewLease.objects.create(
        visit=lease.visit, item=item, reviewer=ravi, expires_at=lease.expires_at
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def approve_one(user) -> None:
        from annotation.models import Item

        try:
            mine = Item.objects.select_related("project").get(pk=item.pk)
            barrier.wait()
            decisions.decide(item=mine, reviewer=user, decision="approve")
            outcomes.append("ok")
        except decisions.ReviewConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve_one, args=(u,)) for u in (rita, ravi)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert Transition.objects.filter(item=item, event="approve").count() == 1
