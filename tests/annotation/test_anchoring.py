"""The anchoring guard: in a `correct` project, a share of items (fixed by item id) is
written before the model's draft is shown; the draft appears after the first save;
admins compare the two groups."""

from __future__ import annotations

import pytest

from annotation import anchoring, leases, selectors, services
from annotation.models import Assignment
from annotation.states import State
from annotation.transitions import transition
from projects import services as project_services
from projects.models import Role
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db

DRAFT = "To reset your password, open Settings and choose Security."


@pytest.fixture
def guarded(correct_project, anna):
    project_services.set_member(project=correct_project, username="anna", role=Role.ANNOTATOR)
    correct_project.anchoring_share = 1.0
    correct_project.save()
    return correct_project


def test_which_items_are_blind_is_fixed_by_item_id_and_share(correct_project) -> None:
    correct_project.anchoring_share = 0.5
    items = [make_item(correct_project, f"q{n}", draft=DRAFT) for n in range(40)]
    blind = [i.pk for i in items if anchoring.is_blind(correct_project, i)]
    assert 5 < len(blind) < 35
    assert blind == [i.pk for i in items if anchoring.item_share(i.pk) < 0.5]
    correct_project.anchoring_share = 0.0
    assert not any(anchoring.is_blind(correct_project, i) for i in items)


def test_off_by_default_and_only_for_correct_projects(project, correct_project) -> None:
    assert correct_project.anchoring_share == 0.0
    project.anchoring_share = 1.0
    assert not anchoring.is_blind(project, make_item(project, draft=DRAFT))


def test_a_blind_item_starts_empty_and_shows_the_draft_after_the_first_save(
    client, guarded, anna
) -> None:
    item = make_item(guarded, draft=DRAFT)
    api = api_for(anna)
    lease = api.post(f"/api/v1/projects/{guarded.pk}/next/").json()
    assert lease["model_draft"] == "" and lease["draft"][-1]["content"] == ""
    a = Assignment.objects.get(item=item)
    assert a.blind
    client.force_login(anna)
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "Write your own answer first; the model's draft appears after your first save" in page
    assert DRAFT not in page
    saved = api.put(
        f"/api/v1/items/{item.pk}/draft/",
        {
            "messages": [*item.source, {"role": "assistant", "content": "Go to Settings."}],
            "base_revision": lease["revision"],
        },
        format="json",
    ).json()
    assert saved["model_draft"] == DRAFT
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert 'id="blind-note"' not in page
    ref = page[page.index('id="model-draft-reference"') :]
    assert DRAFT in ref[: ref.index("</section>")]
    assert api.get(f"/api/v1/items/{item.pk}/").json()["model_draft"] == DRAFT


def test_an_item_not_blind_starts_from_the_draft(correct_project, anna) -> None:
    project_services.set_member(project=correct_project, username="anna", role=Role.ANNOTATOR)
    item = make_item(correct_project, draft=DRAFT)
    a = leases.claim_next(project=correct_project, user=anna)
    assert a is not None and a.item == item and not a.blind
    assert a.draft is not None
    assert a.draft[-1]["content"] == DRAFT


def _submit(project, user, text):
    a = leases.claim_next(project=project, user=user)
    assert a is not None
    Assignment.objects.filter(pk=a.pk).update(active_seconds=len(text))
    services.submit(
        item=a.item,
        user=user,
        messages=[*a.item.source, {"role": "assistant", "content": text}],
        base_revision=None,
    )
    return a.item


def test_the_comparison_for_admins(client, correct_project, alice, anna) -> None:
    project_services.set_member(project=correct_project, username="anna", role=Role.ANNOTATOR)
    make_item(correct_project, "one", draft=DRAFT)
    corrected = _submit(correct_project, anna, DRAFT + " Then confirm.")
    correct_project.anchoring_share = 1.0
    correct_project.save()
    make_item(correct_project, "two", draft=DRAFT)
    make_item(correct_project, "three", draft=DRAFT)
    scratch = [_submit(correct_project, anna, t) for t in ("Go to Settings.", "Open Security.")]
    transition(corrected, to=State.APPROVED, actor=alice, reason="ok")
    transition(scratch[0], to=State.RETURNED, actor=alice, reason="no")
    transition(scratch[1], to=State.APPROVED, actor=alice, reason="ok")
    result = selectors.anchoring_comparison(correct_project)
    assert result["corrected"]["count"] == 1 and result["from_scratch"]["count"] == 2
    assert result["corrected"]["approval_rate"] == 1.0
    assert result["from_scratch"]["approval_rate"] == 0.5
    assert result["corrected"]["median_active_seconds"] == len(DRAFT + " Then confirm.")
    assert result["from_scratch"]["median_active_seconds"] == 14.5
    assert result["corrected"]["mean_edit_distance"] < result["from_scratch"]["mean_edit_distance"]
    # No judge has scored these answers yet.
    assert result["corrected"]["extra"] == {"judged": 0, "judge_mean": None}
    client.force_login(alice)
    page = client.get(f"/projects/{correct_project.slug}/queues/").content.decode()
    section = page[page.index('id="anchoring"') :]
    assert "Written from scratch" in section and "50%" in section


def test_the_comparison_takes_extra_figures_per_group(correct_project, monkeypatch) -> None:
    seen = []

    def judge(project, group, revision_ids):
        seen.append(group)
        return {"judge_mean": None}

    monkeypatch.setattr(anchoring, "COMPARISON_EXTRAS", [judge])
    result = anchoring.anchoring_comparison(correct_project)
    assert seen == ["corrected", "from_scratch"]
    assert result["from_scratch"]["extra"] == {"judge_mean": None}
