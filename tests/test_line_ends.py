"""Text enters with one kind of line end: a form post's or a Windows client's ``\\r\\n``
is stored as ``\\n`` on every path (annotator, reviewer edit, brief, guideline), so the
training data and the dataset card never mix line endings."""

from __future__ import annotations

import pytest

from annotation.leases import claim_next
from annotation.models import Revision
from annotation.services import save_draft, submit
from projects.models import Guideline
from tests.reviews.conftest import in_review

pytestmark = pytest.mark.django_db

CRLF = "Open Settings.\r\nThen choose Security.\rDone."
LF = "Open Settings.\nThen choose Security.\nDone."


def test_annotator_draft_and_submit_store_lf(project, anna) -> None:
    from tests.factories import make_item

    item = make_item(project, "How do I reset my password?")
    assert claim_next(project=project, user=anna) is not None
    messages = [*item.source, {"role": "assistant", "content": CRLF}]
    assignment = save_draft(item=item, user=anna, messages=messages, base_revision=None)
    assert assignment.draft is not None and assignment.draft[-1]["content"] == LF
    revision, _ = submit(item=item, user=anna, messages=messages, base_revision=None)
    assert revision.messages[-1]["content"] == LF


def test_reviewer_edit_stores_lf(project, anna, rita, api) -> None:
    item = in_review(project, anna)
    client = api(rita)
    client.post(f"/api/v1/projects/{project.pk}/review/next/")
    response = client.post(
        f"/api/v1/items/{item.pk}/reviews/",
        {
            "decision": "edit",
            "messages": [*item.source, {"role": "assistant", "content": CRLF}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    edited = Revision.objects.get(pk=response.json()["edited_revision"])
    assert edited.messages[-1]["content"] == LF


def test_brief_and_guideline_from_forms_store_lf(client, alice, project) -> None:
    client.force_login(alice)
    client.post(
        f"/projects/{project.slug}/settings/",
        {
            "name": project.name,
            "slug": project.slug,
            "description": "Line one.\r\nLine two.",
            "task_type": project.task_type,
            "overlap": 1,
            "language": "en",
        },
    )
    project.refresh_from_db()
    assert project.description == "Line one.\nLine two."
    client.post(f"/projects/{project.slug}/guidelines/", {"body": "# Rules\r\n\r\n- Be kind."})
    assert Guideline.objects.get(project=project).body == "# Rules\n\n- Be kind."
