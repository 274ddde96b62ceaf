"""Active editing time per annotator and item: the editor sends what it counted with
each save and submit, the server never adds more than the time that passed, and
project admins see it on the item page and in the item API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _answer(item, text="Open Settings, then Reset password."):
    return [*item.source, {"role": "assistant", "content": text}]


def _age_lease(assignment_id: int, seconds: int) -> None:
    """Pretend the lease (and the last count) began ``seconds`` ago."""
    then = timezone.now() - timedelta(seconds=seconds)
    Assignment.objects.filter(pk=assignment_id).update(leased_at=then, active_counted_at=None)


def test_saves_and_submit_add_active_time_capped_by_the_time_that_passed(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    a = Assignment.objects.get(item=item, user=anna)
    _age_lease(a.pk, 40)
    r = client.put(
        f"/api/v1/items/{item.pk}/draft/",
        {
            "messages": _answer(item, "Open"),
            "base_revision": lease["revision"],
            "active_seconds": 25,
        },
        format="json",
    )
    assert r.status_code == 200
    a.refresh_from_db()
    assert a.active_seconds == 25
    # A client claiming an hour right after a save gets at most the second or so since.
    r = client.put(
        f"/api/v1/items/{item.pk}/draft/",
        {"messages": _answer(item), "base_revision": r.json()["revision"], "active_seconds": 3600},
        format="json",
    )
    a.refresh_from_db()
    assert 25 <= a.active_seconds <= 27
    before = a.active_seconds
    Assignment.objects.filter(pk=a.pk).update(
        active_counted_at=timezone.now() - timedelta(seconds=20)
    )
    r = client.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": _answer(item), "base_revision": r.json()["revision"], "active_seconds": 10},
        format="json",
    )
    assert r.status_code == 201
    a.refresh_from_db()
    assert a.active_seconds == before + 10


def test_negative_or_absurd_increments_are_refused(project, anna) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    for bad in (-5, 10**9, "lots"):
        r = client.put(
            f"/api/v1/items/{item.pk}/draft/",
            {"messages": _answer(item), "base_revision": lease["revision"], "active_seconds": bad},
            format="json",
        )
        assert r.status_code == 400
    assert Assignment.objects.get(item=item).active_seconds == 0


def test_admins_see_time_on_task_on_the_item_page_and_api(client, project, alice, anna) -> None:
    item = make_item(project)
    api_for(anna).post(f"/api/v1/projects/{project.pk}/next/")
    Assignment.objects.filter(item=item).update(active_seconds=245, blind=False)
    client.force_login(alice)
    page = client.get(f"/items/{item.pk}/").content.decode()
    section = page[page.index('id="active-time"') :]
    assert "anna" in section and "4 min 05 s" in section
    turns = api_for(alice).get(f"/api/v1/items/{item.pk}/").json()["turns"]
    assert turns[0]["user"] == "anna" and turns[0]["active_seconds"] == 245
    client.force_login(anna)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert 'id="active-time"' not in page
    assert "turns" not in api_for(anna).get(f"/api/v1/items/{item.pk}/").json()
