"""A project admin's second thoughts: reopen an approved item, unflag a flagged one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from annotation import leases, services
from annotation.models import Assignment, AssignmentStatus, Item
from annotation.states import State
from core.api import UNKNOWN_FIELDS
from tests.factories import make_item

pytestmark = pytest.mark.django_db

ANSWER = "Open Settings, then Security, and choose Reset password. A link arrives by email."


def approved(project: Any, author: Any) -> Item:
    return make_item(project, answer=ANSWER, author=author, state=State.APPROVED, stage=0)


def flagged(project: Any, annotator: Any) -> Item:
    """An item ``annotator`` was handed and flagged as unanswerable."""
    item = make_item(project)
    assignment = leases.claim_next(project=project, user=annotator)
    assert assignment is not None and assignment.item_id == item.pk
    services.flag(item=assignment.item, user=annotator, category="unanswerable", note="No idea")
    item.refresh_from_db()
    assert item.state == State.FLAGGED
    return item


# Services ---------------------------------------------------------------------------------


def test_reopen_sends_the_item_through_checks_into_review(
    project, alice, anna, django_capture_on_commit_callbacks
) -> None:
    item = approved(project, anna)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.reopen(item=item, actor=alice, reason="  The answer cites a retired page. ")
        assert item.state == State.SUBMITTED and item.stage is None
    assert len(callbacks) == 1  # the check task, by name, after the commit
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW and item.stage == 0
    events = list(item.history.values_list("event", "reason", "actor__username"))
    assert events[0] == ("reopen", "The answer cites a retired page.", "alice")
    assert events[1][0] == "checks_passed"


def test_unflag_frees_the_item_so_annotators_can_claim_it_again(project, alice, anna) -> None:
    item = flagged(project, anna)
    services.unflag(item=item, actor=alice, reason="Answerable with the new FAQ.")
    item.refresh_from_db()
    assert (item.state, item.claims, item.stage) == (State.QUEUED, 0, None)
    assert not Assignment.objects.filter(item=item).exists()
    row = item.history.order_by("-id")[0]
    assert (row.event, row.reason, row.actor) == ("unflag", "Answerable with the new FAQ.", alice)
    assert row.data["assignments"] == [{"user": "anna", "status": AssignmentStatus.FLAGGED}]
    again = leases.claim_next(project=project, user=anna)  # the flagger included
    assert again is not None and again.item_id == item.pk
    assert again.item.state == State.IN_PROGRESS


@pytest.mark.parametrize("action", [services.reopen, services.unflag])
def test_a_reason_is_required(project, alice, anna, action) -> None:
    item = approved(project, anna) if action is services.reopen else flagged(project, anna)
    with pytest.raises(ValidationError) as exc:
        action(item=item, actor=alice, reason="   ")
    assert "reason" in exc.value.message_dict
    item.refresh_from_db()
    assert item.state in (State.APPROVED, State.FLAGGED)


def test_a_move_someone_else_made_first_is_refused(project, alice, anna) -> None:
    item = approved(project, anna)
    stale = Item.objects.get(pk=item.pk)
    services.reopen(item=item, actor=alice, reason="Once.")
    with pytest.raises(services.ItemMoved) as exc:
        services.reopen(item=stale, actor=alice, reason="Twice.")
    assert exc.value.detail == services.MOVED_FIRST.format(state="submitted (checks running)")
    assert item.history.filter(event="reopen").count() == 1


# API --------------------------------------------------------------------------------------


def test_reopen_api(project, alice, anna, api) -> None:
    item = approved(project, anna)
    r = api(alice).post(f"/api/v1/items/{item.pk}/reopen/", {"reason": "Recheck"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["item"] == item.pk
    assert item.history.get().event == "reopen"


def test_unflag_api(project, alice, anna, api) -> None:
    item = flagged(project, anna)
    r = api(alice).post(f"/api/v1/items/{item.pk}/unflag/", {"reason": "Fine"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json() == {"item": item.pk, "state": State.QUEUED}


@pytest.mark.parametrize("action", ["reopen", "unflag"])
def test_admin_actions_api_refusals(project, alice, anna, oscar, api, action) -> None:
    item = approved(project, anna) if action == "reopen" else flagged(project, anna)
    other = make_item(project, state=State.IN_REVIEW, stage=0)
    url = f"/api/v1/items/{item.pk}/{action}/"
    assert api(anna).post(url, {"reason": "x"}, format="json").status_code == 403
    assert api(oscar).post(url, {"reason": "x"}, format="json").status_code == 404
    r = api(alice).post(url, {}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    assert r.json()["detail"].startswith("reason: Say why")
    r = api(alice).post(url, {"reason": "x", "why": "y"}, format="json")
    assert r.status_code == 400 and r.json()["detail"] == UNKNOWN_FIELDS.format(names="why")
    r = api(alice).post(f"/api/v1/items/{other.pk}/{action}/", {"reason": "x"}, format="json")
    assert r.status_code == 409 and "this one is in review" in r.json()["detail"]
    assert api(alice).post(url, {"reason": "x"}, format="json").status_code == 200
    r = api(alice).post(url, {"reason": "x"}, format="json")  # already done
    assert r.status_code == 409
    item.refresh_from_db()
    assert item.history.filter(event=action).count() == 1


# Pages ------------------------------------------------------------------------------------


def test_an_admin_reopens_an_approved_item_from_its_page(
    client, project, alice, rita, anna
) -> None:
    item = approved(project, anna)
    client.force_login(rita)  # a reviewer sees the item, not the form
    assert 'id="reopen"' not in client.get(f"/items/{item.pk}/").content.decode()
    client.force_login(anna)
    assert client.post(f"/items/{item.pk}/reopen/", {"reason": "x"}).status_code == 403
    client.force_login(alice)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert f'action="/items/{item.pk}/reopen/"' in page and 'id="unflag"' not in page
    r = client.post(f"/items/{item.pk}/reopen/", {"reason": ""}, follow=True)
    assert "Say why you are reopening this item." in r.content.decode()
    item.refresh_from_db()
    assert item.state == State.APPROVED
    r = client.post(f"/items/{item.pk}/reopen/", {"reason": "Stale link"}, follow=True)
    assert r.redirect_chain == [(f"/items/{item.pk}/", 302)]
    assert f"Item {item.pk} reopened" in r.content.decode()
    row = item.history.get()
    assert (row.event, row.reason, row.actor) == ("reopen", "Stale link", alice)
    r = client.post(f"/items/{item.pk}/reopen/", {"reason": "Again"}, follow=True)
    assert "Only an approved item can be reopened" in r.content.decode()


def test_an_admin_unflags_a_flagged_item_from_its_page(client, project, alice, anna, oscar) -> None:
    item = flagged(project, anna)
    client.force_login(oscar)
    assert client.post(f"/items/{item.pk}/unflag/", {"reason": "x"}).status_code == 404
    client.force_login(anna)
    assert client.post(f"/items/{item.pk}/unflag/", {"reason": "x"}).status_code == 403
    client.force_login(alice)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert f'action="/items/{item.pk}/unflag/"' in page and 'id="reopen"' not in page
    r = client.post(f"/items/{item.pk}/unflag/", {"reason": "It is fine"}, follow=True)
    assert f"Item {item.pk} unflagged" in r.content.decode()
    item.refresh_from_db()
    assert item.state == State.QUEUED
    assert 'id="unflag"' not in client.get(f"/items/{item.pk}/").content.decode()
