"""The admin's item page: everything about one item, and the admin actions on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Assignment, Item, Queue, Revision, RevisionKind, Transition
from annotation.states import State
from checks.models import CheckResult
from overview.models import ItemChange
from reviews.models import Review
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(project: Any, anna: Any, rita: Any) -> Item:
    item = make_item(
        project,
        "Reset my password",
        answer="Click reset.",
        author=anna,
        state=State.IN_REVIEW,
        stage=0,
    )
    assert item.current_revision is not None
    edit = Revision.objects.create(
        item=item,
        messages=[*item.source, {"role": "assistant", "content": "Click reset, then check mail."}],
        kind=RevisionKind.REVIEWER_EDIT,
        author=rita,
        base=item.current_revision,
    )
    Review.objects.create(
        item=item,
        revision=item.current_revision,
        stage=0,
        reviewer=rita,
        decision="reject",
        feedback="Mention the mail <b>step</b>.",
    )
    CheckResult.objects.create(revision=edit, name="pii", outcome="warn", message="An email?")
    Transition.objects.create(
        item=item, from_state="submitted", to_state="in_review", event="checks_passed", actor=None
    )
    item.current_revision = edit
    item.save(update_fields=["current_revision"])
    Assignment.objects.create(
        item=item, user=anna, status="submitted", expires_at=timezone.now() + timedelta(hours=1)
    )
    return item


def _page(client: Any, project: Any, item: Any) -> str:
    response = client.get(f"/projects/{project.slug}/items/{item.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _act(client: Any, project: Any, item: Any, **data: Any) -> str:
    response = client.post(f"/projects/{project.slug}/items/{item.pk}/action/", data)
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def test_the_page_shows_revisions_with_diffs_reviews_checks_and_history(
    client, project, alice, reviewed
):
    client.force_login(alice)
    html = _page(client, project, reviewed)
    assert "Reviewer edit by rita" in html
    assert "<ins>, then check mail.</ins>" in html or "<ins>" in html
    assert "An email?" in html and "outcome-warn" in html
    assert "Mention the mail &lt;b&gt;step&lt;/b&gt;." in html  # escaped
    assert "checks_passed: submitted → in_review" in html
    assert "anna: Submitted" in html


def test_only_project_admins_open_it(client, project, rita, oscar, other_project, alice, reviewed):
    client.force_login(rita)
    assert client.get(f"/projects/{project.slug}/items/{reviewed.pk}/").status_code == 403
    client.force_login(oscar)
    assert client.get(f"/projects/{project.slug}/items/{reviewed.pk}/").status_code == 404
    foreign = make_item(other_project)
    client.force_login(alice)
    assert client.get(f"/projects/{project.slug}/items/{foreign.pk}/").status_code == 404


def test_priority_tags_queue_and_gold(client, project, alice, reviewed):
    client.force_login(alice)
    queue = Queue.objects.create(project=project, name="Later")
    _act(client, project, reviewed, action="priority", priority="7")
    _act(client, project, reviewed, action="retag", tags="billing, urgent")
    _act(client, project, reviewed, action="queue", queue=str(queue.pk))
    html = _act(client, project, reviewed, action="gold")
    reviewed.refresh_from_db()
    assert (reviewed.priority, reviewed.tags, reviewed.queue_id) == (
        7,
        ["billing", "urgent"],
        queue.pk,
    )
    assert reviewed.is_gold and reviewed.reference == "Click reset, then check mail."
    assert "Marked as gold." in html and "priority: 0 → 7" in html
    _act(client, project, reviewed, action="ungold")
    reviewed.refresh_from_db()
    assert not reviewed.is_gold
    assert ItemChange.objects.filter(item=reviewed, actor=alice).count() == 5
    bad = _act(client, project, reviewed, action="priority", priority="high")
    assert "The priority must be a whole number." in bad


def test_send_back_flag_discard_unflag_and_reopen(client, project, alice, reviewed):
    client.force_login(alice)
    html = _act(client, project, reviewed, action="requeue", reason="Needs the mail step")
    reviewed.refresh_from_db()
    assert reviewed.state == State.RETURNED and "Sent back to annotation" in html
    _act(client, project, reviewed, action="discard")
    reviewed.refresh_from_db()
    last = Transition.objects.filter(item=reviewed).last()
    assert last is not None
    assert reviewed.state == State.FLAGGED and last.reason == "discarded"
    assert last.actor == alice and last.data["category"] == "discarded"
    refused = _act(client, project, reviewed, action="unflag", reason="")
    assert "Say why this item should go back to the queue." in refused
    _act(client, project, reviewed, action="unflag", reason="Not a duplicate")
    reviewed.refresh_from_db()
    assert reviewed.state == State.QUEUED
    approved = make_item(project, "x", answer="y", state=State.APPROVED)
    _act(client, project, approved, action="reopen", reason="Recheck it")
    approved.refresh_from_db()
    assert approved.state != State.APPROVED
    queued = make_item(project, "z")
    html = _act(client, project, queued, action="discard")
    assert "this one is queued" in html


def test_the_explorer_links_rows_to_the_admin_page(client, project, alice, reviewed):
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/items/").content.decode()
    assert f'href="/projects/{project.slug}/items/{reviewed.pk}/"' in html
