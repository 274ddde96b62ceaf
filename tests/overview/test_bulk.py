"""Bulk actions: one background job each, through the single-item services, with the
history kept and per-item refusals in the job's errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Assignment, AssignmentStatus, Item, Queue, Transition
from annotation.states import State
from exports.models import ExportJob
from overview import bulk
from overview.models import ItemChange
from projects.models import Job
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks: Any) -> None:
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture: Any = None


def _post(user: Any, project: Any, body: dict[str, Any]) -> Any:
    """POST a bulk action; the job runs as it would after the request's commit."""
    with _capture(execute=True):
        return api_for(user).post(f"/api/v1/projects/{project.pk}/items/bulk/", body, format="json")


def _job(response: Any) -> Job:
    assert response.status_code == 202, response.content
    return Job.objects.get(pk=response.json()["id"])


def test_retag_by_ids_is_one_job_with_the_actor_and_a_record_per_item(project, alice):
    a, b = make_item(project, "a", tags=["old"]), make_item(project, "b")
    job = _job(_post(alice, project, {"action": "retag", "ids": [a.pk, b.pk], "add": ["new"]}))
    assert (job.kind, job.status, job.progress, job.total) == ("bulk", "succeeded", 2, 2)
    assert job.created_by == alice and job.result["done"] == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.tags == ["old", "new"] and b.tags == ["new"]
    change = ItemChange.objects.get(item=a)
    assert (change.actor, change.action, change.job_id) == (alice, "retag", job.pk)
    # The job is visible through the jobs API.
    body = api_for(alice).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "succeeded"


def test_retag_on_a_filter_removes_tags_from_everything_matching(project, alice):
    items = [make_item(project, f"p{i}", tags=["x", "y"]) for i in range(3)]
    other = make_item(project, "keep", tags=["y"], state=State.FLAGGED)
    job = _job(
        _post(
            alice,
            project,
            {"action": "retag", "filter": {"tag": "x", "state": "queued"}, "remove": ["y"]},
        )
    )
    assert job.total == 3
    assert all(Item.objects.get(pk=i.pk).tags == ["x"] for i in items)
    assert Item.objects.get(pk=other.pk).tags == ["y"]


def test_priority_and_queue(project, alice):
    item = make_item(project)
    queue = Queue.objects.create(project=project, name="Urgent")
    _job(_post(alice, project, {"action": "priority", "ids": [item.pk], "priority": 9}))
    _job(_post(alice, project, {"action": "queue", "ids": [item.pk], "queue": str(queue.pk)}))
    item.refresh_from_db()
    assert (item.priority, item.queue_id) == (9, queue.pk)
    _job(_post(alice, project, {"action": "queue", "ids": [item.pk], "queue": "default"}))
    item.refresh_from_db()
    assert item.queue_id is None
    assert list(ItemChange.objects.filter(item=item).values_list("action", flat=True)) == [
        "priority",
        "queue",
        "queue",
    ]


def test_requeue_returns_reviewed_items_and_refuses_the_others(project, alice, anna):
    in_review = make_item(project, "r", answer="x", author=anna, state=State.IN_REVIEW, stage=0)
    queued = make_item(project, "q")
    job = _job(
        _post(
            alice,
            project,
            {"action": "requeue", "ids": [in_review.pk, queued.pk], "reason": "Too short"},
        )
    )
    in_review.refresh_from_db()
    assert in_review.state == State.RETURNED
    move = Transition.objects.get(item=in_review)
    assert (move.from_state, move.to_state, move.actor, move.reason) == (
        "in_review",
        "returned",
        alice,
        "Too short",
    )
    assert job.status == "succeeded" and job.result == {"done": 1, "refused": 1}
    assert job.errors[0]["item"] == queued.pk and "this one is queued" in job.errors[0]["message"]


def test_requeue_of_a_leased_item_gives_the_lease_back(project, alice, anna):
    item = make_item(project, state=State.IN_PROGRESS, claims=1)
    Assignment.objects.create(
        item=item, user=anna, status="active", expires_at=timezone.now() + timedelta(hours=1)
    )
    _job(_post(alice, project, {"action": "requeue", "ids": [item.pk]}))
    item.refresh_from_db()
    assert (item.state, item.claims) == (State.QUEUED, 0)
    assert Assignment.objects.get(item=item).status == AssignmentStatus.EXPIRED


def test_flag_and_discard_go_through_the_state_table(project, alice, anna):
    reviewed = make_item(project, "r", answer="x", author=anna, state=State.IN_REVIEW, stage=0)
    queued = make_item(project, "q")
    job = _job(
        _post(
            alice,
            project,
            {"action": "flag", "ids": [reviewed.pk, queued.pk], "reason": "dup", "discard": True},
        )
    )
    reviewed.refresh_from_db()
    assert reviewed.state == State.FLAGGED
    move = Transition.objects.get(item=reviewed)
    assert move.event == "flag" and move.data["category"] == "discarded"
    assert [e["item"] for e in job.errors] == [queued.pk]
    missing = _post(alice, project, {"action": "flag", "ids": [reviewed.pk]})
    assert missing.status_code == 400 and "Say why" in missing.json()["detail"]


def test_gold_takes_the_current_answer_as_reference_and_refuses_unanswered(project, alice, anna):
    answered = make_item(project, "a", answer="The reference.", author=anna)
    bare = make_item(project, "b")
    job = _job(_post(alice, project, {"action": "gold", "ids": [answered.pk, bare.pk]}))
    answered.refresh_from_db()
    assert answered.is_gold and answered.reference == "The reference."
    assert job.errors == [
        {"item": bare.pk, "message": "This item has no answer yet to use as the gold reference."}
    ]
    _job(_post(alice, project, {"action": "gold", "ids": [answered.pk], "gold": False}))
    answered.refresh_from_db()
    assert not answered.is_gold


def test_recheck_hands_the_selection_to_a_recheck_job(project, alice, anna):
    answered = make_item(project, "a", answer="An answer long enough.", author=anna)
    bare = make_item(project, "b")
    job = _job(_post(alice, project, {"action": "recheck", "ids": [answered.pk, bare.pk]}))
    recheck = Job.objects.get(pk=job.result["recheck_job"])
    assert recheck.kind == "recheck" and recheck.params["items"] == [answered.pk]
    assert recheck.status == "succeeded"
    assert answered.current_revision is not None
    assert answered.current_revision.check_results.exists()
    assert [e["item"] for e in job.errors] == [bare.pk]


def test_export_exports_just_the_selection(project, alice, anna):
    chosen = make_item(project, "a", answer="Yes.", author=anna, state=State.APPROVED)
    other = make_item(project, "b", answer="No.", author=anna, state=State.APPROVED)
    queued = make_item(project, "c")
    job = _job(
        _post(
            alice,
            project,
            {"action": "export", "ids": [chosen.pk, queued.pk], "format": "openai-chat"},
        )
    )
    export = ExportJob.objects.get(pk=job.result["export_job"])
    assert export.status == "succeeded"
    assert export.options["filters"]["items"] == [chosen.pk]
    with export.file.open("rb") as f:
        body = f.read().decode()
    assert '"Yes."' in body and '"No."' not in body
    assert [e["item"] for e in job.errors] == [queued.pk]
    del other


def test_an_item_that_moved_meanwhile_is_refused_not_half_done(project, alice, anna):
    a = make_item(project, "a", answer="x", author=anna, state=State.IN_REVIEW, stage=0)
    b = make_item(project, "b", answer="y", author=anna, state=State.IN_REVIEW, stage=0)
    job = Job.objects.create(
        project=project,
        kind="bulk",
        created_by=alice,
        total=2,
        params={"action": "requeue", "items": [a.pk, b.pk], "reason": ""},
    )

    def approve_b_meanwhile(position: int) -> None:
        if position == 0:
            Item.objects.filter(pk=b.pk).update(state=State.APPROVED, stage=None)

    bulk.run_bulk_job(job.pk, on_item=approve_b_meanwhile)
    job.refresh_from_db()
    assert Item.objects.get(pk=a.pk).state == State.RETURNED
    assert Item.objects.get(pk=b.pk).state == State.APPROVED
    assert job.errors[0]["item"] == b.pk and "approved" in job.errors[0]["message"]
    assert not Transition.objects.filter(item=b).exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"action": "paint", "ids": [1]}, "action must be one of"),
        ({"action": "retag", "ids": [1]}, "Give tags to add or remove"),
        ({"action": "retag", "add": ["x"]}, "Choose the items"),
        ({"action": "retag", "add": ["x"], "ids": [999999]}, "not in this project"),
        ({"action": "retag", "add": ["x"], "filter": {"colour": "red"}}, "Unknown filter"),
        ({"action": "priority", "ids": [1], "priority": "high"}, "whole number"),
        ({"action": "queue", "ids": [1], "queue": "42"}, "queue must be the id"),
        ({"action": "retag", "add": ["x"], "ids": [1], "colour": 1}, "Unknown field"),
    ],
)
def test_bad_requests_are_refused_whole(project, alice, body, words):
    make_item(project)
    response = _post(alice, project, body)
    assert response.status_code == 400 and words in response.json()["detail"]
    assert not Job.objects.filter(kind="bulk").exists()


def test_only_project_admins_start_bulk_actions(project, rita, oscar):
    item = make_item(project)
    body = {"action": "retag", "ids": [item.pk], "add": ["x"]}
    assert _post(rita, project, body).status_code == 403
    assert _post(oscar, project, body).status_code == 404


def test_the_explorer_form_starts_a_job_and_shows_its_progress(client, project, alice):
    a, b = make_item(project, "a"), make_item(project, "b")
    client.force_login(alice)
    with _capture(execute=True):
        response = client.post(
            f"/projects/{project.slug}/items/bulk/",
            {"action": "retag", "scope": "selected", "ids": [a.pk], "value": "picked", "query": ""},
        )
    job = Job.objects.get(kind="bulk")
    assert response["Location"] == f"/projects/{project.slug}/items/?job={job.pk}"
    html = client.get(response["Location"]).content.decode()
    assert "Bulk retag" in html and "1 of 1" in html
    assert Item.objects.get(pk=a.pk).tags == ["picked"] and Item.objects.get(pk=b.pk).tags == []
    with _capture(execute=True):
        everything = client.post(
            f"/projects/{project.slug}/items/bulk/",
            {"action": "priority", "scope": "all", "value": "3", "query": "state=queued"},
        )
    assert everything.status_code == 302
    assert set(Item.objects.values_list("priority", flat=True)) == {3}
    partial = client.get(f"/projects/{project.slug}/items/bulk/{job.pk}/").content.decode()
    assert "Succeeded" in partial and "hx-trigger" not in partial
