"""A NUL or half a character (a lone surrogate) in typed text never breaks autosave or
submit: it is cleaned where text enters, and the rest of the text is kept."""

from __future__ import annotations

import json

import pytest

from annotation.messages import clean_text
from annotation.models import Assignment
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def test_clean_text_drops_nul_and_replaces_lone_surrogates() -> None:
    assert clean_text("a\x00b") == "ab"
    assert clean_text("x\ud800y") == "x\ufffdy"
    assert clean_text("ok \U0001f600\r\n") == "ok \U0001f600\n"


def _raw(client, method, url, body: str):
    return getattr(client, method)(url, data=body, content_type="application/json")


def test_a_draft_and_a_submit_with_nul_and_a_lone_surrogate_save_through_the_api(
    client, project, anna
) -> None:
    item = make_item(project)
    client.force_login(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    user_turn = json.dumps(item.source[-1])
    body = (
        '{"messages": [' + user_turn + ', {"role": "assistant", "content": '
        '"Open Settings\\u0000 then Reset \\ud800 now."}], "base_revision": '
        + str(lease["revision"])
        + "}"
    )
    r = _raw(client, "put", f"/api/v1/items/{item.pk}/draft/", body)
    assert r.status_code == 200, r.content
    draft = Assignment.objects.get(item=item, user=anna).draft
    assert draft is not None
    assert draft[-1]["content"] == "Open Settings then Reset \ufffd now."
    body = body.replace(str(lease["revision"]) + "}", str(r.json()["revision"]) + "}")
    r = _raw(client, "post", f"/api/v1/items/{item.pk}/submit/", body)
    assert r.status_code == 201, r.content
    item.refresh_from_db()
    assert item.current_revision is not None
    assert item.current_revision.messages[-1]["content"] == "Open Settings then Reset \ufffd now."


def test_a_form_post_with_nul_saves_the_draft(client, project, anna) -> None:
    item = make_item(project)
    client.force_login(anna)
    client.post(f"/projects/{project.slug}/work/")
    roles = [m["role"] for m in item.source] + ["assistant"]
    contents = [m["content"] for m in item.source] + ["Half\x00 done"]
    r = client.post(f"/items/{item.pk}/draft/", {"role": roles, "content": contents})
    assert r.status_code == 302
    draft = Assignment.objects.get(item=item, user=anna).draft
    assert draft is not None
    assert draft[-1]["content"] == "Half done"
