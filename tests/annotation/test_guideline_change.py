"""A guideline version published while an annotator holds an item: the editor shows
what changed, submit waits for the acknowledgement (API and form alike, the text kept),
and reviewers see which version an answer was written under."""

from __future__ import annotations

import pytest

from annotation import leases, services
from annotation.models import Assignment
from projects import services as project_services
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db

V1 = "Greet the customer.\nNever ask for passwords."
V2 = "Greet the customer.\nNever ask for passwords.\nStart with 'CloudSync Pro Support:'."


def _held_item_then_new_version(project, alice, anna):
    project_services.publish_guideline(project=project, body=V1, author=alice)
    project_services.acknowledge_guideline(project=project, user=anna)
    item = make_item(project, "How do I reset my password?")
    assignment = leases.claim_next(project=project, user=anna)
    assert assignment is not None and assignment.item == item
    project_services.publish_guideline(project=project, body=V2, author=alice)
    return item, assignment


def _answer(item, text="Open Settings, then Reset password."):
    return [*item.source, {"role": "assistant", "content": text}]


def test_submit_through_the_api_is_409_until_the_new_version_is_acknowledged(
    project, alice, anna
) -> None:
    item, assignment = _held_item_then_new_version(project, alice, anna)
    client = api_for(anna)
    body = {"messages": _answer(item), "base_revision": assignment.draft_version}
    r = client.post(f"/api/v1/items/{item.pk}/submit/", body, format="json")
    assert r.status_code == 409
    data = r.json()
    assert "version 2" in data["detail"]
    assert data["guideline_version"] == 2
    assert data["guideline"]["previous"] == 1
    assert "+Start with 'CloudSync Pro Support:'." in data["guideline"]["changes"]
    assert data["messages"][-1]["content"] == "Open Settings, then Reset password."
    # Autosave still works and says the guidelines changed.
    saved = client.put(f"/api/v1/items/{item.pk}/draft/", body, format="json")
    assert saved.status_code == 200 and saved.json()["guideline"]["version"] == 2
    ack = client.post(f"/api/v1/projects/{project.pk}/guidelines/acknowledge/")
    assert ack.status_code in (200, 201)
    body["base_revision"] = saved.json()["revision"]
    r = client.post(f"/api/v1/items/{item.pk}/submit/", body, format="json")
    assert r.status_code == 201
    item.refresh_from_db()
    assert item.current_revision.guideline.version == 2


def test_the_editor_shows_the_change_and_the_form_submit_keeps_the_text(
    client, project, alice, anna
) -> None:
    item, _ = _held_item_then_new_version(project, alice, anna)
    client.force_login(anna)
    page = client.get(f"/items/{item.pk}/").content.decode()
    banner = page[page.index('id="guideline-changed"') :]
    banner = banner[: banner.index("</section>")]
    assert " hidden" not in banner.split(">")[0]
    assert "version 2 replaces version 1" in banner
    assert "+Start with &#x27;CloudSync Pro Support:&#x27;." in banner
    roles = [m["role"] for m in item.source] + ["assistant"]
    contents = [m["content"] for m in item.source] + ["My careful answer."]
    r = client.post(f"/items/{item.pk}/submit/", {"role": roles, "content": contents})
    assert r.status_code == 302 and r.url == f"/items/{item.pk}/"
    assignment = Assignment.objects.get(item=item, user=anna)
    assert assignment.status == "active"
    assert assignment.draft is not None
    assert assignment.draft[-1]["content"] == "My careful answer."


def test_no_banner_when_the_guidelines_did_not_change(client, project, alice, anna) -> None:
    project_services.publish_guideline(project=project, body=V1, author=alice)
    project_services.acknowledge_guideline(project=project, user=anna)
    item = make_item(project)
    leases.claim_next(project=project, user=anna)
    client.force_login(anna)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert (
        'id="guideline-changed" class="card notice guideline-changed" role="alert" hidden' in page
    )
    revision, _ = services.submit(item=item, user=anna, messages=_answer(item), base_revision=None)
    assert revision.guideline is not None
    assert revision.guideline.version == 1


def test_reviewers_see_the_version_an_answer_was_written_under(
    client, project, alice, anna, rita
) -> None:
    project_services.publish_guideline(project=project, body=V1, author=alice)
    project_services.acknowledge_guideline(project=project, user=anna)
    item = make_item(project)
    leases.claim_next(project=project, user=anna)
    services.submit(item=item, user=anna, messages=_answer(item), base_revision=None)
    project_services.publish_guideline(project=project, body=V2, author=alice)
    client.force_login(rita)
    page = client.get(f"/projects/{project.slug}/review/items/{item.pk}/").content.decode()
    assert "written under version 1" in page and "(current is 2)" in page
