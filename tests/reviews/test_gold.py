"""Gold items: marking them, scoring annotators' answers against the reference and by
the reviewer, and per-annotator gold scores."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from annotation.models import Revision, RevisionKind
from annotation.states import State
from reviews import decisions, policy, scoring, selectors, services
from reviews.models import GoldScore
from tests.factories import make_item
from tests.reviews.conftest import in_review

pytestmark = pytest.mark.django_db

REFERENCE = "Open Settings, choose Security, then click Reset password."


def test_similarity_is_word_level_and_bounded() -> None:
    assert scoring.similarity(REFERENCE, REFERENCE) == 1.0
    assert (
        scoring.similarity(REFERENCE, "open settings, choose security, then click reset password.")
        == 1.0
    )
    close = scoring.similarity(
        REFERENCE, "Open Settings, choose Security and click Reset password."
    )
    far = scoring.similarity(REFERENCE, "I like pasta with butter.")
    assert 0.7 < close < 1.0
    assert far < 0.2
    assert scoring.similarity("", "") == 1.0


def test_set_gold_needs_a_reference(project) -> None:
    item = make_item(project)
    with pytest.raises(ValidationError, match=policy.GOLD_REFERENCE):
        policy.set_gold(item=item, reference="  ")
    policy.set_gold(item=item, reference=REFERENCE)
    item.refresh_from_db()
    assert item.is_gold and item.reference == REFERENCE


def test_gold_answers_are_scored_on_entering_review_and_by_the_reviewer(
    project, anna, rita, ravi
) -> None:
    good = in_review(
        project,
        anna,
        answer="Open Settings, choose Security, then click Reset password.",
        is_gold=True,
        reference=REFERENCE,
    )
    bad = in_review(
        project, ravi, answer="Call us.", is_gold=True, reference=REFERENCE, prompt="Other"
    )
    plain = in_review(project, anna, answer="Not gold.", prompt="Plain")
    assert GoldScore.objects.get(item=good).similarity == 1.0
    assert GoldScore.objects.get(item=bad).similarity < 0.2
    assert not GoldScore.objects.filter(item=plain).exists()

    lease = services.next_for_review(project=project, reviewer=rita)
    assert lease is not None and lease.item_id == good.pk
    decisions.decide(
        item=good, reviewer=rita, decision="approve", scores={"accuracy": 5, "clarity": 4}
    )
    assert GoldScore.objects.get(item=good).reviewer_score == pytest.approx(0.9)

    scores = {row["username"]: row for row in selectors.gold_scores(project)}
    assert scores["anna"]["answers"] == 1 and scores["anna"]["similarity"] == 1.0
    assert scores["anna"]["reviewer_score"] == 0.9
    assert scores["ravi"]["reviewer_score"] is None
    assert list(scores) == ["anna", "ravi"]  # best first


def test_rescoring_does_not_duplicate(project, anna) -> None:
    item = make_item(
        project,
        answer="Open Settings.",
        author=anna,
        state=State.SUBMITTED,
        is_gold=True,
        reference=REFERENCE,
    )
    scoring.score_gold(item)
    scoring.score_gold(item)
    assert GoldScore.objects.filter(item=item).count() == 1
    Revision.objects.create(
        item=item,
        messages=[*item.source, {"role": "assistant", "content": REFERENCE}],
        kind=RevisionKind.SUBMISSION,
        author=anna,
    )
    scoring.score_gold(item)
    assert GoldScore.objects.filter(item=item).count() == 2


def test_admin_marks_gold_items_and_sets_the_rate_on_the_policy_page(project, anna) -> None:
    item = make_item(project, prompt="How do I reset my password?")
    client = Client()
    client.force_login(project.created_by)
    url = f"/projects/{project.slug}/review-policy/"
    response = client.post(url, {"section": "gold", "item": str(item.pk), "reference": REFERENCE})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.is_gold and item.reference == REFERENCE
    response = client.post(url, {"section": "gold", "item": "999999", "reference": REFERENCE})
    assert response.status_code == 400
    response = client.post(url, {"section": "gold-rate", "gold_percent": "5"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.gold_rate == pytest.approx(0.05)
    assert client.post(url, {"section": "gold-rate", "gold_percent": "500"}).status_code == 400
    page = client.get(url).content.decode()
    assert REFERENCE[:40] in page
    client.post(url, {"section": "gold-remove", "item": str(item.pk)})
    item.refresh_from_db()
    assert not item.is_gold
