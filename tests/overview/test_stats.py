"""Progress figures on the overview page and `GET /api/v1/projects/{id}/stats/`."""

from __future__ import annotations

from annotation.states import State
from annotation.transitions import transition
from checks.models import CheckResult
from reviews.models import Review
from tests.factories import make_item


def _fill(project, anna, rita, n: int) -> None:
    for i in range(n):
        item = make_item(
            project,
            f"prompt {i}",
            answer=f"answer {i}",
            author=anna,
            state=State.IN_REVIEW,
            stage=0,
        )
        revision = item.current_revision
        assert revision is not None
        Review.objects.create(
            item=item,
            revision=revision,
            stage=0,
            reviewer=rita,
            decision="approve" if i % 2 else "reject",
            feedback="",
        )
        CheckResult.objects.create(
            revision=revision, name="length", outcome="fail" if i % 3 == 0 else "pass"
        )
        if i % 2:
            transition(item, to=State.APPROVED, actor=rita)
    make_item(project, "untouched")


def test_stats_count_states_reviews_and_checks(api, project, anna, rita) -> None:
    _fill(project, anna, rita, 6)
    body = api(anna).get(f"/api/v1/projects/{project.pk}/stats/").json()
    assert body["items"] == 7
    assert (
        body["states"]["approved"] == 3
        and body["states"]["in_review"] == 3
        and body["states"]["queued"] == 1
    )
    assert body["throughput"]["approved_24h"] == 3
    assert body["reviews"]["total"] == 6 and body["reviews"]["approval_rate"] == 0.5
    assert body["checks"] == [
        {
            "name": "length",
            "label": "Length",
            "total": 6,
            "failed": 2,
            "warned": 0,
            "failure_rate": 0.3333,
        }
    ]


def test_stats_of_another_project_is_404(api, oscar, project) -> None:
    assert api(oscar).get(f"/api/v1/projects/{project.pk}/stats/").status_code == 404


def test_overview_query_count_does_not_grow_with_the_project(
    client, project, anna, rita, django_assert_num_queries
) -> None:
    client.force_login(anna)
    _fill(project, anna, rita, 3)
    # session, user, project, membership, 6 stats aggregates (states, stage names, stages,
    # transitions, reviews, checks), current guideline (none yet, so no acknowledgement query)
    with django_assert_num_queries(11) as small:
        client.get("/projects/support/")
    _fill(project, anna, rita, 30)
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get("/projects/support/").content.decode()
    assert "35 items" in html
    # The checks table names each check as the checks page does, not by its id.
    assert "<th>Length</th>" in html and "<th>length</th>" not in html
