"""Claiming, autosave, submit, skip, flag, expiry, queues: through the API and services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation import leases, queues, services
from annotation.messages import MESSAGES_EMPTY
from annotation.models import Assignment, AssignmentStatus, Item, Revision
from annotation.states import State
from annotation.tasks import sweep_expired_leases
from annotation.transitions import transition
from projects import services as project_services
from reviews.models import GoldScore
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def claim(project, user) -> Assignment:
    assignment = leases.claim_next(project=project, user=user)
    assert assignment is not None
    return assignment


def last_transition(item: Item):
    return item.history.order_by("-id")[0]


def answer(item: Item, text: str = "Open Settings, then Security, then Reset.") -> list[dict]:
    return [*item.source, {"role": "assistant", "content": text}]


def test_next_leases_the_highest_priority_then_oldest_item(project, anna) -> None:
    old = make_item(project, "old")
    make_item(project, "newer")
    urgent = make_item(project, "urgent", priority=5)
    client = api_for(anna)
    first = client.post(f"/api/v1/projects/{project.pk}/next/")
    assert first.status_code == 200
    body = first.json()
    assert body["id"] == urgent.pk
    assert body["lease_expires_at"]
    assert body["draft"] == answer(urgent, "")
    assert body["base_revision"] == 1
    assert "is_gold" not in body
    second = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    assert second["id"] == old.pk
    urgent.refresh_from_db()
    assert (urgent.state, urgent.claims) == (State.IN_PROGRESS, 1)


def test_next_answers_204_when_nothing_is_left_and_409_at_the_lease_cap(project, anna) -> None:
    client = api_for(anna)
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204
    for n in range(4):
        make_item(project, f"p{n}")
    for _ in range(project.max_leases):
        assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 200
    refused = client.post(f"/api/v1/projects/{project.pk}/next/")
    assert refused.status_code == 409
    assert "hold 3 item" in refused.json()["detail"]


def test_next_refuses_until_the_current_guideline_is_acknowledged(project, alice, anna) -> None:
    make_item(project)
    project_services.publish_guideline(project=project, body="Be kind.", author=alice)
    client = api_for(anna)
    refused = client.post(f"/api/v1/projects/{project.pk}/next/")
    assert refused.status_code == 409
    assert "acknowledge the current guidelines (version 1)" in refused.json()["detail"]
    project_services.acknowledge_guideline(project=project, user=anna)
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 200


def test_outsiders_get_404_and_annotators_only_see_items_handed_to_them(
    project, anna, oscar, rita
) -> None:
    item = make_item(project)
    assert api_for(oscar).post(f"/api/v1/projects/{project.pk}/next/").status_code == 404
    assert api_for(oscar).get(f"/api/v1/items/{item.pk}/").status_code == 404
    assert api_for(anna).get(f"/api/v1/items/{item.pk}/").status_code == 404
    assert api_for(rita).get(f"/api/v1/items/{item.pk}/").status_code == 200
    assert api_for(anna).get(f"/api/v1/projects/{project.pk}/items/").json()["count"] == 0


def test_autosave_then_stale_write_gets_409_with_the_current_text(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    url = f"/api/v1/items/{item.pk}/draft/"
    saved = client.put(
        url,
        {"messages": answer(item, "tab one"), "base_revision": lease["base_revision"]},
        format="json",
    )
    assert saved.status_code == 200
    assert saved.json()["base_revision"] == 2
    stale = client.put(
        url, {"messages": answer(item, "tab two"), "base_revision": 1}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["messages"][-1]["content"] == "tab one"
    assert stale.json()["base_revision"] == 2
    draft = Assignment.objects.get(item=item).draft
    assert draft is not None and draft[-1]["content"] == "tab one"
    assert client.get(f"/api/v1/items/{item.pk}/").json()["draft"][-1]["content"] == "tab one"


def test_submit_is_idempotent_and_moves_the_item_to_submitted(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    payload = {"messages": answer(item), "base_revision": lease["base_revision"]}
    first = client.post(f"/api/v1/items/{item.pk}/submit/", payload, format="json")
    assert first.status_code == 201, first.json()
    retry = client.post(f"/api/v1/items/{item.pk}/submit/", payload, format="json")
    assert retry.status_code == 200
    assert retry.json()["revision"] == first.json()["revision"]
    assert Revision.objects.filter(item=item).count() == 1
    item.refresh_from_db()
    revision = Revision.objects.get(item=item)
    assert item.current_revision == revision
    assert revision.author == anna and revision.kind == "submission"
    # With no review stage configured the checks send it straight on.
    assert item.state in (State.SUBMITTED, State.IN_REVIEW, State.APPROVED)
    assert [t.event for t in item.history.all()][:2] == ["claim", "submit"]


def test_submit_refuses_an_incomplete_chat_with_a_clear_message(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    bad = client.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "  "), "base_revision": lease["base_revision"]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == "messages: " + MESSAGES_EMPTY.format(n=2, role="assistant")
    assert not Revision.objects.exists()


def test_overlap_gives_each_item_to_n_different_annotators(project, alice, anna, rita) -> None:
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = make_item(project)
    for user in (anna, rita):
        assert claim(project, user).item == item
    assert leases.claim_next(project=project, user=alice) is None
    assert leases.claim_next(project=project, user=anna) is None  # never the same item twice
    services.submit(item=item, user=anna, messages=answer(item), base_revision=None)
    item.refresh_from_db()
    assert item.state == State.IN_PROGRESS  # waiting for rita
    services.submit(
        item=item,
        user=rita,
        messages=answer(item, "Another answer, different."),
        base_revision=None,
    )
    item.refresh_from_db()
    assert item.state != State.IN_PROGRESS
    assert Revision.objects.filter(item=item).count() == 2


def test_skip_needs_a_reason_frees_the_item_and_never_hands_it_back(project, anna, rita) -> None:
    item = make_item(project)
    client = api_for(anna)
    client.post(f"/api/v1/projects/{project.pk}/next/")
    assert (
        client.post(f"/api/v1/items/{item.pk}/skip/", {"reason": ""}, format="json").status_code
        == 400
    )
    assert (
        client.post(
            f"/api/v1/items/{item.pk}/skip/", {"reason": "Needs a lawyer"}, format="json"
        ).status_code
        == 200
    )
    item.refresh_from_db()
    assert (item.state, item.claims) == (State.QUEUED, 0)
    assert last_transition(item).reason == "Skipped: Needs a lawyer"
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204
    assert claim(project, rita).item == item


def test_flag_takes_the_item_out(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    client.post(f"/api/v1/projects/{project.pk}/next/")
    r = client.post(
        f"/api/v1/items/{item.pk}/flag/", {"category": "unsafe", "note": "weapons"}, format="json"
    )
    assert r.status_code == 200
    item.refresh_from_db()
    assert item.state == State.FLAGGED
    assert last_transition(item).data == {"category": "unsafe", "note": "weapons"}


def test_an_expired_lease_returns_the_item_with_its_draft_for_the_next_annotator(
    project, anna, rita
) -> None:
    item = make_item(project)
    a = claim(project, anna)
    services.save_draft(
        item=item, user=anna, messages=answer(item, "half written"), base_revision=a.draft_version
    )
    Assignment.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    sweep_expired_leases()
    item.refresh_from_db()
    assert (item.state, item.claims) == (State.QUEUED, 0)
    assert Assignment.objects.get(pk=a.pk).status == AssignmentStatus.EXPIRED
    b = claim(project, rita)
    assert b.item == item
    assert b.draft is not None and b.draft[-1]["content"] == "half written"


def test_an_expired_session_comes_back_to_its_draft_when_the_item_is_still_free(
    project, anna
) -> None:
    item = make_item(project)
    a = claim(project, anna)
    Assignment.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    leases.expire_leases()
    saved = services.save_draft(
        item=item, user=anna, messages=answer(item, "still mine"), base_revision=a.draft_version
    )
    assert saved.status == AssignmentStatus.ACTIVE
    item.refresh_from_db()
    assert (item.state, item.claims) == (State.IN_PROGRESS, 1)


def test_returned_items_come_back_to_their_annotator_first(project, anna) -> None:
    newer = make_item(project, "newer", priority=9)
    item = make_item(project, "mine")
    Item.objects.filter(pk=newer.pk).update(state=State.FLAGGED)
    a = claim(project, anna)
    assert a.item == item
    services.submit(item=item, user=anna, messages=answer(item), base_revision=None)
    item.refresh_from_db()
    Item.objects.filter(pk=newer.pk).update(state=State.QUEUED)
    if item.state != State.IN_REVIEW:
        Item.objects.filter(pk=item.pk).update(state=State.IN_REVIEW, stage=0)
        item.refresh_from_db()
    assert transition(item, to=State.RETURNED, actor=None, reason="Too terse.")
    rework = claim(project, anna)
    assert rework.item.pk == item.pk and rework.is_rework
    assert rework.draft == answer(item)
    services.submit(
        item=item, user=anna, messages=answer(item, "A fuller answer now."), base_revision=None
    )
    item.refresh_from_db()
    assert item.history.filter(event="resubmit").exists()
    assert Revision.objects.filter(item=item).count() == 2


def test_gold_items_are_served_at_the_gold_rate_without_saying_so(
    project, anna, rita, django_capture_on_commit_callbacks
) -> None:
    project.gold_rate = 1.0
    project.save(update_fields=["gold_rate"])
    make_item(project, "normal")
    gold = make_item(project, "gold", is_gold=True, reference="The known answer.")
    lease = api_for(anna).post(f"/api/v1/projects/{project.pk}/next/").json()
    assert lease["id"] == gold.pk and "is_gold" not in lease and "reference" not in lease
    with django_capture_on_commit_callbacks(execute=True):  # the check task, in-process
        services.submit(item=gold, user=anna, messages=answer(gold), base_revision=None)
    assert claim(project, rita).item == gold  # every annotator meets it
    # The answer was scored against the reference as it was submitted.
    score = GoldScore.objects.get(item=gold, annotator=anna)
    assert 0 <= score.similarity < 1


def test_queues_route_items_and_serve_their_assignees_by_priority(
    project, alice, anna, rita
) -> None:
    plain = make_item(project, "plain", priority=3)
    medical = make_item(project, "medical", tags=["medical"])
    queue = queues.save_queue(
        project=project, name="Clinicians", priority=10, tags=["medical"], assignees=[rita]
    )
    medical.refresh_from_db()
    assert medical.queue == queue
    assert claim(project, anna).item == plain  # not a clinician
    assert claim(project, rita).item == medical  # higher priority queue
    queues.save_queue(
        project=project,
        queue=queue,
        name="Clinicians",
        priority=10,
        paused=True,
        tags=["medical"],
        assignees=[rita],
    )
    assert leases.claim_next(project=project, user=rita) is None


def test_queue_page_shows_depth_and_creates_queues(client, project, alice) -> None:
    make_item(project, "a", tags=["legal"])
    make_item(project, "b")
    client.force_login(alice)
    r = client.post(
        f"/projects/{project.slug}/queues/", {"name": "Legal", "priority": 5, "tags": "legal"}
    )
    assert r.status_code == 302
    page = client.get(f"/projects/{project.slug}/queues/").content.decode()
    assert "Legal" in page and "Default" in page
    assert Item.objects.filter(queue__name="Legal").count() == 1


# --- Query counts: constant whatever the project's size --------------------------------


@pytest.mark.parametrize("items", [3, 30])
def test_next_runs_a_fixed_number_of_queries(
    project, anna, django_assert_num_queries, items
) -> None:
    for n in range(items):
        make_item(project, f"q{n}")
    queues.default_queue(project)
    client = api_for(anna)
    # project, membership (access); guideline (acknowledgement); queues; savepoint,
    # membership lock, held leases, rework candidate, item lock (SKIP LOCKED), inherited
    # draft, insert assignment, item update, history row, release; the item's history
    # for the answer.
    with django_assert_num_queries(15):
        assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 200


@pytest.mark.parametrize("history", [1, 20])
def test_item_detail_and_draft_and_submit_run_fixed_queries(
    project, anna, django_assert_num_queries, history
) -> None:
    item = make_item(project)
    a = claim(project, anna)
    for n in range(history):
        services.save_draft(
            item=item, user=anna, messages=answer(item, f"v{n}"), base_revision=None
        )
    client = api_for(anna)
    # item + project + revision, project, membership, assignment, history (no reviews
    # or check results to read: nothing submitted yet)
    with django_assert_num_queries(5):
        assert client.get(f"/api/v1/items/{item.pk}/").status_code == 200
    a.refresh_from_db()
    # item, project, membership, assignment; savepoint, lock assignment, update, release;
    # the current guideline (none here: nothing to acknowledge)
    with django_assert_num_queries(9):
        r = client.put(
            f"/api/v1/items/{item.pk}/draft/",
            {"messages": answer(item, "x"), "base_revision": a.draft_version},
            format="json",
        )
        assert r.status_code == 200


def test_imported_items_land_in_the_queue_whose_filter_matches(project, alice, tmp_path) -> None:
    from annotation.queues import save_queue
    from imports.services import import_file

    save_queue(project=project, name="Medical", priority=5, tags=["medical"])
    path = tmp_path / "rows.jsonl"
    path.write_text(
        '{"prompt": "Is ibuprofen safe with coffee?", "tags": ["medical"]}\n'
        '{"prompt": "How do I bake bread?", "tags": ["cooking"]}\n'
    )
    job = import_file(project=project, path=path, user=alice)
    assert job.status == "succeeded", job.message
    queues = {
        i.source[0]["content"]: (i.queue.name if i.queue else None)
        for i in Item.objects.filter(project=project)
    }
    assert queues == {"Is ibuprofen safe with coffee?": "Medical", "How do I bake bread?": None}
