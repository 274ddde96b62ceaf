"""The people page: per annotator and per reviewer figures, linked to the explorer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment
from annotation.states import State
from checks.models import CheckResult
from overview.people import annotator_figures, reviewer_figures
from reviews.models import Review, ReviewAgreement, ReviewStage
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked(project, anna, rita, alice):
    ReviewStage.objects.get_or_create(project=project, position=0, defaults={"name": "First"})
    now = timezone.now()
    reviews = []
    for i, decision in enumerate(["approve", "reject", "approve", "edit"]):
        item = make_item(
            project, f"p{i}", answer=f"a{i}", author=anna, state=State.IN_REVIEW, stage=0
        )
        Assignment.objects.create(
            item=item,
            user=anna,
            status="submitted",
            leased_at=now - timedelta(seconds=100 * (i + 1)),
            finished_at=now,
            expires_at=now,
            active_seconds=30 if i == 0 else 0,
        )
        assert item.current_revision is not None
        reviews.append(
            Review.objects.create(
                item=item, revision=item.current_revision, stage=0, reviewer=rita, decision=decision
            )
        )
        CheckResult.objects.create(
            revision=item.current_revision, name="pii", outcome="fail" if i == 1 else "pass"
        )
    second = Review.objects.create(
        item=reviews[0].item,
        revision=reviews[0].revision,
        stage=0,
        reviewer=alice,
        decision="reject",
    )
    ReviewAgreement.objects.create(
        project=project, stage=0, first=reviews[0], second=second, decision_agrees=False
    )
    return reviews


def test_annotator_figures(project, worked):
    (anna,) = annotator_figures(project)
    assert anna["username"] == "anna" and anna["submitted"] == 4
    assert anna["stages"][0]["reviews"] == 5 and anna["stages"][0]["approved"] == 3
    assert anna["reworked"] == 2 and anna["rework_rate"] == 0.5
    # active time where recorded (30 s), else lease to submission (200, 300, 400 s)
    assert anna["median_seconds"] == 250
    assert anna["check_failure_rate"] == 0.25


def test_reviewer_figures(project, worked):
    rows = {r["username"]: r for r in reviewer_figures(project)}
    rita = rows["rita"]
    assert (rita["reviews"], rita["approve"], rita["reject"], rita["edit"]) == (4, 2, 1, 1)
    assert rita["agreement"] == 0.0 and rows["alice"]["pairs"] == 1


def test_the_page_sorts_links_to_the_explorer_and_is_for_admins(
    client, project, alice, rita, worked
):
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/people/?r=-reviews").content.decode()
    assert f'href="/projects/{project.slug}/items/?annotator=anna">4</a>' in html
    assert f'href="/projects/{project.slug}/items/?reviewer=rita">4</a>' in html
    assert html.index("<td>rita</td>") < html.index("<td>alice</td>")
    client.force_login(rita)
    assert client.get(f"/projects/{project.slug}/people/").status_code == 403


def test_annotators_see_their_own_figures_in_the_explorer_and_nobody_elses(
    client, project, anna, worked
):
    client.force_login(anna)
    html = client.get(f"/projects/{project.slug}/items/").content.decode()
    assert 'id="my-figures"' in html and "4 submitted" in html and "rework rate 0.5" in html
    assert client.get(f"/projects/{project.slug}/people/").status_code == 403
