"""The annotator's pages without JavaScript: start, save, submit, skip, flag, rework
with feedback, "My work"; with pinned query counts."""

from __future__ import annotations

import pytest

from annotation import leases, services
from annotation.models import Assignment, AssignmentStatus, Item, Revision
from annotation.states import State
from annotation.transitions import transition
from checks.models import CheckResult
from projects import services as project_services
from reviews.models import Review
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def form(item: Item, text: str, base: int) -> dict:
    roles = [m["role"] for m in item.source] + ["assistant"]
    contents = [m["content"] for m in item.source] + [text]
    return {"role": roles, "content": contents, "base_revision": str(base)}


def test_start_working_sends_unacknowledged_annotators_to_the_guideline(
    client, project, alice, anna
) -> None:
    make_item(project)
    project_services.publish_guideline(project=project, body="Rules.", author=alice)
    client.force_login(anna)
    r = client.post(f"/projects/{project.slug}/work/", follow=True)
    assert r.redirect_chain[-1][0] == f"/projects/{project.slug}/guidelines/"
    assert "acknowledge the current guidelines (version 1)" in r.content.decode()


def test_the_whole_loop_works_without_javascript(client, project, anna) -> None:
    first = make_item(project, "First?", priority=1)
    second = make_item(project, "Second?")
    client.force_login(anna)
    r = client.post(f"/projects/{project.slug}/work/")
    assert r["Location"] == f"/items/{first.pk}/"
    page = client.get(f"/items/{first.pk}/").content.decode()
    assert "First?" in page and 'name="base_revision" id="base-revision" value="1"' in page
    r = client.post(f"/items/{first.pk}/draft/", form(first, "Half.", 1), follow=True)
    assert "Draft saved." in r.content.decode()
    assert "Half." in client.get(f"/items/{first.pk}/").content.decode()
    r = client.post(f"/items/{first.pk}/submit/", form(first, "Done & dusted <b>.", 2))
    assert r["Location"] == f"/items/{second.pk}/"
    assert Revision.objects.get(item=first).messages[-1]["content"] == "Done & dusted <b>."
    r = client.post(f"/items/{second.pk}/skip/", {"reason": "The prompt is unclear"})
    assert r["Location"] == f"/projects/{project.slug}/work/"
    assert Assignment.objects.get(item=second).status == AssignmentStatus.SKIPPED


def test_a_stale_form_submit_is_refused_and_says_why(client, project, anna) -> None:
    item = make_item(project)
    client.force_login(anna)
    client.post(f"/projects/{project.slug}/work/")
    client.post(f"/items/{item.pk}/draft/", form(item, "newer", 1))
    r = client.post(f"/items/{item.pk}/submit/", form(item, "older", 1), follow=True)
    assert services.STALE_DRAFT in r.content.decode().replace("&#x27;", "'")
    assert not Revision.objects.filter(item=item).exists()


def test_a_returned_item_shows_feedback_failed_checks_and_history(
    client, project, anna, rita
) -> None:
    item = make_item(project)
    leases.claim_next(project=project, user=anna)
    revision, _ = services.submit(
        item=item,
        user=anna,
        messages=[*item.source, {"role": "assistant", "content": "k"}],
        base_revision=None,
    )
    item.refresh_from_db()
    Item.objects.filter(pk=item.pk).update(state=State.IN_REVIEW, stage=0)
    item.refresh_from_db()
    Review.objects.create(
        item=item,
        revision=revision,
        stage=0,
        reviewer=rita,
        decision="reject",
        feedback="Explain <why>, step by step.",
        reasons=["incomplete"],
    )
    CheckResult.objects.create(
        revision=revision, name="length", outcome="fail", message="Too short."
    )
    transition(item, to=State.RETURNED, actor=rita, reason="Rejected in review.")
    client.force_login(anna)
    r = client.post(f"/projects/{project.slug}/work/")
    assert r["Location"] == f"/items/{item.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "Returned for rework" in page
    assert "Explain &lt;why&gt;, step by step." in page
    assert "Too short." in page
    assert "Incomplete answer" in page  # the reason code's label, not the code
    assert "Rejected in review." in page
    mine = client.get("/my-work/").content.decode()
    assert f"#{item.pk}" in mine


@pytest.mark.parametrize("size", [5, 25])
def test_pages_run_a_fixed_number_of_queries(
    client, project, anna, django_assert_num_queries, size
) -> None:
    items = [make_item(project, f"p{n}") for n in range(size)]
    client.force_login(anna)
    for item in items[: min(size, 3)]:
        a = leases.claim_next(project=project, user=anna)
        assert a is not None
        services.submit(
            item=a.item,
            user=anna,
            messages=[*a.item.source, {"role": "assistant", "content": "an answer"}],
            base_revision=None,
        )
    leases.claim_next(project=project, user=anna)
    # session, user, project, membership, guideline, my assignments, their counts,
    # the queues I work, open item counts, held leases (twice: the button and the
    # list), acknowledgement
    with django_assert_num_queries(11):
        assert client.get(f"/projects/{project.slug}/work/").status_code == 200
    held = Assignment.objects.get(user=anna, status=AssignmentStatus.ACTIVE)
    # session, user, item+project+revision, project, membership, assignment, history,
    # guideline (no reviews or check results to read: nothing submitted yet)
    with django_assert_num_queries(8):
        assert client.get(f"/items/{held.item_id}/").status_code == 200
    # session, user, visible projects, my assignments, counts
    with django_assert_num_queries(5):
        assert client.get("/my-work/").status_code == 200


def test_a_reviewer_looking_at_an_item_does_not_lease_it(client, project, rita) -> None:
    item = make_item(project)
    client.force_login(rita)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "How do I reset my password?" in page
    assert 'id="submit-button"' not in page
    item.refresh_from_db()
    assert (item.state, item.claims) == (State.QUEUED, 0)
    assert not Assignment.objects.exists()


def test_items_list_filters_by_state_for_reviewers(client, project, rita) -> None:
    make_item(project, "a")
    make_item(project, "b", state=State.FLAGGED)
    client.force_login(rita)
    body = client.get(f"/api/v1/projects/{project.pk}/items/?state=flagged").json()
    assert body["count"] == 1 and body["results"][0]["state"] == "flagged"
    bad = client.get(f"/api/v1/projects/{project.pk}/items/?state=nope")
    assert bad.status_code == 400 and "state must be one of" in bad.json()["detail"]


def test_the_editor_renews_its_lease(client, project, anna) -> None:
    item = make_item(project)
    a = leases.claim_next(project=project, user=anna)
    assert a is not None
    Assignment.objects.filter(pk=a.pk).update(expires_at=a.leased_at)
    client.force_login(anna)
    r = client.post(f"/api/v1/items/{item.pk}/lease/")
    assert r.status_code == 200
    a.refresh_from_db()
    assert a.expires_at > a.leased_at


def test_prompts_drafts_and_feedback_are_escaped_in_the_editor(client, project, anna) -> None:
    attack = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    item = make_item(project, attack, draft=attack)
    lease = leases.claim_next(project=project, user=anna)
    assert lease is not None and lease.item == item
    client.force_login(anna)
    html = client.get(f"/items/{item.pk}/").content.decode()
    assert "<script>alert('x')" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html
