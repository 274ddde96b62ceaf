"""What a new-user trial found: a conversation's imported last reply, the one version
token, identical texts that are no conflict, read-only counts, skipped items in My
work, and My work's prompt column."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation import leases, services
from annotation.models import Assignment, AssignmentStatus, Item, Revision
from annotation.states import State
from annotation.transitions import transition
from projects.models import TaskType
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db

SYSTEM = "You are a happy assistant that puts a positive spin on everything."
# Two rows shaped like openai-cookbook's toy_chat_fine_tuning.jsonl.
CHATS = [
    [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "I fell off my bike today."},
        {"role": "assistant", "content": "It's great that you're getting exercise outdoors!"},
    ],
    [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "I lost my tennis match today."},
        {"role": "assistant", "content": "It's ok, it happens to everyone."},
        {"role": "user", "content": "But I trained so hard!"},
        {"role": "assistant", "content": "It will pay off next time."},
    ],
]


def answer(item: Item, text: str = "Open Settings, then Security, then Reset.") -> list[dict]:
    return [*item.source, {"role": "assistant", "content": text}]


def _returned(project, anna) -> Item:
    """An item anna answered that came back to her for rework."""
    item = make_item(project)
    leases.claim_next(project=project, user=anna)
    services.submit(item=item, user=anna, messages=answer(item, "k"), base_revision=None)
    item.refresh_from_db()
    transition(item, to=State.RETURNED, actor=None, reason="Too short.")
    return item


# --- 1. a conversation opens with its imported last assistant turn -------------------------


def test_a_conversation_item_opens_with_its_imported_last_reply(
    client, project, alice, anna, django_capture_on_commit_callbacks
):
    project.task_type = TaskType.CONVERSATION
    project.save(update_fields=["task_type"])
    rows = "\n".join(json.dumps({"messages": chat}) for chat in CHATS) + "\n"
    with django_capture_on_commit_callbacks(execute=True):
        imported = api_for(alice).post(
            f"/api/v1/projects/{project.pk}/imports/",
            {"file": SimpleUploadedFile("toy_chat.jsonl", rows.encode()), "format": "auto"},
            format="multipart",
        )
    assert imported.status_code == 202, imported.json()
    assert Item.objects.filter(project=project).count() == 2
    api = api_for(anna)
    seen = []
    for _ in CHATS:
        lease = api.post(f"/api/v1/projects/{project.pk}/next/").json()
        chat = next(c for c in CHATS if c[-2]["content"] == lease["source"][-1]["content"])
        assert lease["draft"] == chat  # the whole chat, the reply in the answer turn
        item = api.get(f"/api/v1/items/{lease['id']}/").json()
        assert item["draft"] == chat
        client.force_login(anna)
        page = client.get(f"/items/{lease['id']}/").content.decode()
        answers = re.findall(r'<textarea name="content"[^>]*>([^<]*)</textarea>', page)
        assert answers[-1].replace("&#x27;", "'") == chat[-1]["content"]
        seen.append(lease["id"])
    assert len(set(seen)) == 2


# --- 2. one version token ------------------------------------------------------------------


def test_echoing_revision_from_next_and_get_saves_and_submits_a_fresh_item(project, anna):
    item = make_item(project)
    api = api_for(anna)
    lease = api.post(f"/api/v1/projects/{project.pk}/next/").json()
    draft_url, submit_url = f"/api/v1/items/{item.pk}/draft/", f"/api/v1/items/{item.pk}/submit/"
    saved = api.put(
        draft_url, {"messages": answer(item, "one"), "base_revision": lease["revision"]}, "json"
    )
    assert saved.status_code == 200, saved.json()
    got = api.get(f"/api/v1/items/{item.pk}/").json()
    assert got["revision"] == saved.json()["revision"]
    again = api.put(
        draft_url, {"messages": answer(item, "two"), "base_revision": got["revision"]}, "json"
    )
    assert again.status_code == 200, again.json()
    done = api.post(
        submit_url,
        {"messages": answer(item), "base_revision": again.json()["revision"]},
        format="json",
    )
    assert done.status_code == 201, done.json()


def test_echoing_revision_saves_and_submits_a_returned_item(project, anna):
    item = _returned(project, anna)
    api = api_for(anna)
    lease = api.post(f"/api/v1/projects/{project.pk}/next/").json()
    assert lease["id"] == item.pk and lease["assignment"]["is_rework"]
    got = api.get(f"/api/v1/items/{item.pk}/").json()
    assert got["revision"] == lease["revision"]
    saved = api.put(
        f"/api/v1/items/{item.pk}/draft/",
        {"messages": answer(item, "A longer answer."), "base_revision": got["revision"]},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    # Submitting echoes the token the save answered.
    done = api.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "A longer answer."), "base_revision": saved.json()["revision"]},
        format="json",
    )
    assert done.status_code == 201, done.json()
    assert Revision.objects.filter(item=item).count() == 2


def test_echoing_revision_from_next_submits_a_returned_item_straight_away(project, anna):
    item = _returned(project, anna)
    api = api_for(anna)
    lease = api.post(f"/api/v1/projects/{project.pk}/next/").json()
    done = api.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "Reworked, in full."), "base_revision": lease["revision"]},
        format="json",
    )
    assert done.status_code == 201, done.json()


def test_a_really_stale_token_still_gets_409_with_the_stored_text(project, anna):
    item = make_item(project)
    api = api_for(anna)
    token = api.post(f"/api/v1/projects/{project.pk}/next/").json()["revision"]
    url = f"/api/v1/items/{item.pk}/draft/"
    one = api.put(url, {"messages": answer(item, "tab one"), "base_revision": token}, "json")
    assert one.status_code == 200
    stale = api.put(url, {"messages": answer(item, "tab two"), "base_revision": token}, "json")
    assert stale.status_code == 409
    body = stale.json()
    assert body["messages"][-1]["content"] == "tab one"
    assert body["revision"] == api.get(f"/api/v1/items/{item.pk}/").json()["revision"]
    refused = api.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "tab two"), "base_revision": token},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["messages"][-1]["content"] == "tab one"
    assert not Revision.objects.filter(item=item).exists()
    # Echoing the token the 409 gave ("keep my text") goes through.
    kept = api.put(
        url, {"messages": answer(item, "tab two"), "base_revision": body["revision"]}, "json"
    )
    assert kept.status_code == 200


# --- 3. identical texts are never a conflict ------------------------------------------------


def test_a_draft_equal_to_the_stored_one_is_never_a_conflict(project, anna):
    item = make_item(project)
    api = api_for(anna)
    token = api.post(f"/api/v1/projects/{project.pk}/next/").json()["revision"]
    url = f"/api/v1/items/{item.pk}/draft/"
    first = api.put(url, {"messages": answer(item, "abc"), "base_revision": token}, "json")
    # The page reloaded before the keep-alive save landed: it saves the same text again
    # with the token it rendered.
    late = api.put(url, {"messages": answer(item, "abc"), "base_revision": token}, "json")
    assert late.status_code == 200, late.json()
    assert late.json()["revision"] == first.json()["revision"]
    done = api.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "abc is the whole answer"), "base_revision": token + 99},
        format="json",
    )
    assert done.status_code == 409  # a different text with a stale token is a conflict
    same = api.post(
        f"/api/v1/items/{item.pk}/submit/",
        {"messages": answer(item, "abc"), "base_revision": token},
        format="json",
    )
    assert same.status_code == 201, same.json()


# --- 4. read-only counts ---------------------------------------------------------------------


def test_the_read_only_item_counts_the_answer_it_shows(client, project, anna, rita):
    item = make_item(project, answer="Three short words", author=anna, state=State.APPROVED)
    client.force_login(rita)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "Three short words" in page
    assert '<span id="count-chars">17 characters</span>' in page
    assert '<span id="count-words">3 words</span>' in page
    assert "≈0 tokens" not in page


# --- 5. skipped items: the work page and My work ---------------------------------------------


def test_skipped_items_are_not_waiting_and_show_in_my_work_with_the_reason(client, project, anna):
    item = make_item(project, "Explain quantum gravity in one line.")
    client.force_login(anna)
    client.post(f"/projects/{project.slug}/work/")
    client.post(f"/items/{item.pk}/skip/", {"reason": "I lack the expertise", "note": "physics"})
    assert Assignment.objects.get(item=item).status == AssignmentStatus.SKIPPED
    r = client.post(f"/projects/{project.slug}/work/", follow=True)
    page = r.content.decode()
    assert "Nothing left to do" in page
    assert "1 item waiting" not in page
    assert "0 items waiting" in page
    mine = client.get("/my-work/").content.decode()
    skipped = mine[mine.index('id="skipped"') :]
    assert f"#{item.pk}" in skipped
    assert "Explain quantum gravity in one line." in skipped
    assert "I lack the expertise — physics" in skipped


# --- 6. My work's prompt column ----------------------------------------------------------------


def test_my_work_shows_the_first_user_turn_not_the_shared_system_prompt(client, project, anna):
    for prompt in ("I fell off my bike today.", "I lost my tennis match today."):
        make_item(project, prompt, system=SYSTEM)
        leases.claim_next(project=project, user=anna)
    client.force_login(anna)
    drafts = client.get("/my-work/").content.decode()
    snippets = re.findall(r'<td class="snippet">([^<]*)</td>', drafts)
    assert sorted(snippets) == ["I fell off my bike today.", "I lost my tennis match today."]
