"""The review API: next/, decisions, reviews of an item; access and errors."""

from __future__ import annotations

import pytest

from annotation.messages import MESSAGES_ALTERNATE
from annotation.models import Revision
from annotation.states import State
from reviews import decisions, routing, services
from reviews.models import Review, ReviewLease
from tests.factories import make_item
from tests.reviews.conftest import in_review

pytestmark = pytest.mark.django_db


def test_next_leases_an_item_then_204(project, anna, rita, api) -> None:
    item = in_review(project, anna, draft="Go to settings.")
    client = api(rita)
    response = client.post(f"/api/v1/projects/{project.pk}/review/next/", {}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == item.pk
    assert body["stage"] == 0 and body["stage_name"] == "Review"
    assert body["model_draft"] == "Go to settings."
    assert body["messages"][-1]["role"] == "assistant"
    assert body["lease_expires_at"]
    # Same item again while held; someone else gets nothing (one approval needed).
    assert client.post(f"/api/v1/projects/{project.pk}/review/next/").json()["id"] == item.pk
    assert (
        api(project.created_by).post(f"/api/v1/projects/{project.pk}/review/next/").status_code
        == 204
    )


def test_next_for_a_stage_and_bad_input(project, anna, rita, api) -> None:
    in_review(project, anna)
    client = api(rita)
    assert (
        client.post(
            f"/api/v1/projects/{project.pk}/review/next/", {"stage": 3}, format="json"
        ).status_code
        == 204
    )
    response = client.post(
        f"/api/v1/projects/{project.pk}/review/next/", {"stage": "x"}, format="json"
    )
    assert response.status_code == 400 and "detail" in response.json()


def test_access_rules(project, other_project, anna, rita, oscar, api) -> None:
    item = in_review(project, anna)
    assert api(anna).post(f"/api/v1/projects/{project.pk}/review/next/").status_code == 403
    assert api(oscar).post(f"/api/v1/projects/{project.pk}/review/next/").status_code == 404
    assert api(oscar).get(f"/api/v1/items/{item.pk}/reviews/").status_code == 404
    assert (
        api(oscar)
        .post(f"/api/v1/items/{item.pk}/reviews/", {"decision": "approve"}, format="json")
        .status_code
        == 404
    )
    assert (
        api(anna)
        .post(f"/api/v1/items/{item.pk}/reviews/", {"decision": "approve"}, format="json")
        .status_code
        == 403
    )
    assert api(rita).get("/api/v1/items/999999/reviews/").status_code == 404


def test_self_review_is_refused_by_the_api(project, rita, api) -> None:
    item = in_review(project, rita)
    client = api(rita)
    assert client.post(f"/api/v1/projects/{project.pk}/review/next/").status_code == 204
    response = client.post(
        f"/api/v1/items/{item.pk}/reviews/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == decisions.OWN_WORK
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW


def test_decisions_through_the_api(project, anna, rita, api) -> None:
    client = api(rita)
    item = in_review(project, anna)
    url = f"/api/v1/items/{item.pk}/reviews/"
    # Not holding it yet: 409.
    response = client.post(url, {"decision": "approve"}, format="json")
    assert response.status_code == 409 and "review queue" in response.json()["detail"]
    client.post(f"/api/v1/projects/{project.pk}/review/next/")
    response = client.post(url, {"decision": "reject", "reasons": ["incomplete"]}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"feedback: {decisions.FEEDBACK_REQUIRED}"
    response = client.post(url, {"decision": "maybe"}, format="json")
    assert response.status_code == 400
    response = client.post(
        url,
        {
            "decision": "edit",
            "messages": [*item.source, {"role": "assistant", "content": "Better."}],
            "scores": {"accuracy": 5},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["decision"] == "edit" and body["scores"] == {"accuracy": 5}
    assert body["item"]["state"] == State.APPROVED
    assert body["item"]["revision"] == body["edited_revision"]
    listing = client.get(url).json()
    assert [r["decision"] for r in listing] == ["edit"]
    assert listing[0]["reviewer"] == "rita"


def test_an_edit_must_be_a_valid_conversation(project, anna, rita, api) -> None:
    """The reviewer's edit is held to the annotator's submit rules: turns alternate."""
    item = in_review(project, anna)
    before = (item.state, item.stage, item.current_revision_id)
    revisions = Revision.objects.filter(item=item).count()
    client = api(rita)
    client.post(f"/api/v1/projects/{project.pk}/review/next/")
    response = client.post(
        f"/api/v1/items/{item.pk}/reviews/",
        {
            "decision": "edit",
            "messages": [
                {"role": "user", "content": "How do I reset my password?"},
                {"role": "user", "content": "Asking again."},
                {"role": "assistant", "content": "Open Settings, then Security."},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == f"messages: {MESSAGES_ALTERNATE.format(n=2)}"
    assert not Review.objects.filter(item=item).exists()
    assert Revision.objects.filter(item=item).count() == revisions
    item.refresh_from_db()
    assert (item.state, item.stage, item.current_revision_id) == before
    assert ReviewLease.objects.filter(item=item, reviewer=rita).exists()  # still held


def test_reviews_list_query_count_is_constant(
    project, anna, rita, api, django_assert_num_queries
) -> None:
    item = make_item(project, answer="A", author=anna, state=State.SUBMITTED)
    for n in range(6):
        routing.enter_review(item)
        services.next_for_review(project=project, reviewer=rita)
        decisions.decide(
            item=item, reviewer=rita, decision="reject", reasons=["tone"], feedback=f"Try {n}"
        )
        item.refresh_from_db()
        from annotation.transitions import transition

        transition(item, to=State.SUBMITTED, actor=anna)
    client = api(rita)
    # project, membership, item (with project), the caller's assignment, reason labels,
    # reviews with reviewers
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/items/{item.pk}/reviews/")
    assert len(response.json()) == 6
