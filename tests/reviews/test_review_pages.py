"""Review pages: queue, review screen (decisions through the form, self-review refusal,
pinned query counts) and the admin's review policy page."""

from __future__ import annotations

import pytest
from django.test import Client

from annotation.models import Revision, RevisionKind
from annotation.states import State
from reviews import decisions, forms, policy, routing, selectors, services
from reviews.models import ReasonCode, Review, RubricCriterion
from tests.factories import make_item
from tests.reviews.conftest import in_review

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_queue_page_lists_stages_and_starts_reviewing(project, anna, rita) -> None:
    item = in_review(project, anna)
    client = login(rita)
    page = client.get(f"/projects/{project.slug}/review/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1. Review" in html and "Start reviewing" in html
    response = client.post(f"/projects/{project.slug}/review/next/", {"stage": "0"})
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.slug}/review/items/{item.pk}/"
    # Nothing else: back to the queue with a message.
    response = login(project.created_by).post(
        f"/projects/{project.slug}/review/next/", {"stage": "0"}, follow=True
    )
    assert "Nothing left for you to review" in response.content.decode()


def test_pages_need_the_right_role(project, anna, oscar) -> None:
    item = in_review(project, anna)
    assert login(anna).get(f"/projects/{project.slug}/review/").status_code == 403
    assert login(oscar).get(f"/projects/{project.slug}/review/").status_code == 404
    assert login(oscar).get(f"/projects/{project.slug}/review/items/{item.pk}/").status_code == 404
    assert (
        login(project.created_by).get(f"/projects/{project.slug}/review-policy/").status_code == 200
    )
    assert login(anna).get(f"/projects/{project.slug}/review-policy/").status_code == 403


def test_item_of_another_project_is_404(project, other_project, anna, rita, oscar) -> None:
    foreign = in_review(other_project, oscar)
    assert (
        login(rita).get(f"/projects/{project.slug}/review/items/{foreign.pk}/").status_code == 404
    )


def test_review_screen_shows_everything_a_reviewer_needs(project, anna, rita) -> None:
    project.task_type = "correct"
    project.save(update_fields=["task_type"])
    item = in_review(
        project,
        anna,
        system="You are a support agent.",
        draft="Open the settings page.",
        answer="Open the Settings page, then Security.",
    )
    services.next_for_review(project=project, reviewer=rita)
    html = login(rita).get(f"/projects/{project.slug}/review/items/{item.pk}/").content.decode()
    assert "You are a support agent." in html
    assert "<del>settings</del>" in html and "<ins>Settings</ins>" in html
    assert "<ins>, then Security</ins>" in html
    assert "Accuracy" in html and "Safety" in html  # rubric
    assert "Incomplete answer" in html  # reason codes
    assert 'value="approve"' in html and 'value="reject"' in html and 'value="edit"' in html
    assert "Automated checks" in html
    assert "History" in html and "wrote revision" in html


def test_review_screen_escapes_user_text(project, anna, rita) -> None:
    item = in_review(
        project, anna, prompt="<script>alert('p')</script>", answer="<img src=x onerror=alert(1)>"
    )
    services.next_for_review(project=project, reviewer=rita)
    html = login(rita).get(f"/projects/{project.slug}/review/items/{item.pk}/").content.decode()
    assert "<script>alert('p')</script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_reject_through_the_form_needs_feedback_then_opens_the_next_item(
    project, anna, rita
) -> None:
    first = in_review(project, anna, prompt="First?")
    second = in_review(project, anna, prompt="Second?")
    client = login(rita)
    client.post(f"/projects/{project.slug}/review/next/")
    url = f"/projects/{project.slug}/review/items/{first.pk}/"
    response = client.post(url, {"decision": "reject", "reasons": ["incomplete"], "feedback": ""})
    assert response.status_code == 400
    assert decisions.FEEDBACK_REQUIRED in response.content.decode()
    assert 'value="incomplete" checked' in response.content.decode()  # choices kept
    response = client.post(
        url,
        {"decision": "reject", "reasons": ["incomplete"], "feedback": "Say where the button is."},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/review/items/{second.pk}/")
    first.refresh_from_db()
    assert first.state == State.RETURNED


def test_edit_and_approve_through_the_form(project, anna, rita) -> None:
    item = in_review(project, anna, answer="Old text.")
    client = login(rita)
    client.post(f"/projects/{project.slug}/review/next/")
    response = client.post(
        f"/projects/{project.slug}/review/items/{item.pk}/",
        {"decision": "edit", "answer": "New text.", "score-accuracy": "4"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == State.APPROVED
    assert item.current_revision is not None
    assert item.current_revision.messages[-1] == {"role": "assistant", "content": "New text."}
    assert item.current_revision.author == rita
    assert Review.objects.get(item=item).scores == {"accuracy": 4}


def test_self_review_is_refused_on_the_page(project, rita) -> None:
    item = in_review(project, rita)
    client = login(rita)
    response = client.get(f"/projects/{project.slug}/review/items/{item.pk}/")
    assert response.status_code == 403
    assert "This is your own work" in response.content.decode()
    assert 'value="approve"' not in response.content.decode()
    response = client.post(
        f"/projects/{project.slug}/review/items/{item.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW


def test_overlap_answers_side_by_side(project, anna, rita, ravi) -> None:
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = make_item(project, answer="Answer from anna.", author=anna, state=State.SUBMITTED)
    Revision.objects.create(
        item=item,
        messages=[*item.source, {"role": "assistant", "content": "Answer from ravi."}],
        kind=RevisionKind.SUBMISSION,
        author=ravi,
    )
    routing.enter_review(item)
    client = login(rita)
    client.post(f"/projects/{project.slug}/review/next/")
    html = client.get(f"/projects/{project.slug}/review/items/{item.pk}/").content.decode()
    assert "2 answers: pick the best" in html
    assert "Answer from anna." in html and "Answer from ravi." in html
    ravi_rev = item.revisions.get(author=ravi)
    response = client.post(
        f"/projects/{project.slug}/review/items/{item.pk}/",
        {"decision": "approve", "picked_revision": str(ravi_rev.pk)},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.current_revision == ravi_rev


def _fill(project, anna, rita, n: int):
    """n earlier review rounds on one item, plus n other items waiting."""
    from annotation.transitions import transition

    item = make_item(project, answer="A first answer.", author=anna, state=State.SUBMITTED)
    for k in range(n):
        routing.enter_review(item)
        services.next_for_review(project=project, reviewer=rita)
        decisions.decide(
            item=item, reviewer=rita, decision="reject", reasons=["tone"], feedback=f"Round {k}"
        )
        item.refresh_from_db()
        Revision.objects.create(
            item=item,
            messages=[*item.source, {"role": "assistant", "content": f"Answer {k}"}],
            kind=RevisionKind.SUBMISSION,
            author=anna,
        )
        transition(item, to=State.SUBMITTED, actor=anna)
    routing.enter_review(item)
    for k in range(n):
        in_review(project, anna, prompt=f"Other {k}")
    services.next_for_review(project=project, reviewer=rita)
    return item


@pytest.mark.parametrize("n", [1, 8])
def test_review_screen_query_count_is_independent_of_size(
    project, anna, rita, n, django_assert_num_queries
) -> None:
    item = _fill(project, anna, rita, n)
    client = login(rita)
    # session, user, project, membership, item, open visit, lease, stage count,
    # revisions (+author, guideline), history (+actor), reviews (+reviewer), check results,
    # rubric, reason codes, current guideline version
    with django_assert_num_queries(15):
        response = client.get(f"/projects/{project.slug}/review/items/{item.pk}/")
    assert response.status_code == 200
    assert f"Round {n - 1}" in response.content.decode()


@pytest.mark.parametrize("n", [1, 8])
def test_queue_page_query_count_is_independent_of_size(
    project, anna, rita, n, django_assert_num_queries
) -> None:
    _fill(project, anna, rita, n)
    client = login(rita)
    # session, user, project, membership, stages, stages open to rita, waiting per stage,
    # held items
    with django_assert_num_queries(8):
        response = client.get(f"/projects/{project.slug}/review/")
    assert response.status_code == 200


@pytest.mark.parametrize("n", [1, 8])
def test_policy_page_query_count_is_independent_of_size(
    project, anna, rita, n, django_assert_num_queries
) -> None:
    _fill(project, anna, rita, n)
    client = login(project.created_by)
    # session, user, project, membership, stages, stage reviewers, reviewers, rubric,
    # reasons, gold items, gold scores, stage names, agreement
    with django_assert_num_queries(13):
        response = client.get(f"/projects/{project.slug}/review-policy/")
    assert response.status_code == 200


def rows(prefix: str, *rows: dict[str, object], existing: int = 0) -> dict[str, object]:
    """A table section of the policy page as the browser posts it: the formset's
    management fields and each row's fields as ``<prefix>-<n>-<field>``."""
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(existing),
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{field}": value for field, value in row.items()})
    return data


def test_policy_page_edits_stages_rubric_and_reasons(project, rita) -> None:
    client = login(project.created_by)
    url = f"/projects/{project.slug}/review-policy/"
    response = client.post(
        url,
        {
            "section": "stages",
            **rows(
                "stage",
                {"name": "Peer review", "percent": "100", "min_approvals": "2"},
                {
                    "name": "Expert review",
                    "percent": "20",
                    "min_approvals": "1",
                    "reviewers": [str(rita.pk)],
                },
            ),
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#stages")
    assert [
        (s["name"], s["sample_rate"], s["min_approvals"], s["reviewers"])
        for s in selectors.review_stages(project)
    ] == [
        ("Peer review", 1.0, 2, []),
        ("Expert review", 0.2, 1, ["rita"]),
    ]
    response = client.post(
        url,
        {
            "section": "stages",
            **rows("stage", {"name": "X", "percent": "150", "min_approvals": "1"}),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert forms.SAMPLE_PERCENT in html
    assert 'name="stage-0-percent" value="150"' in html  # shown back as typed

    response = client.post(
        url,
        {
            "section": "rubric",
            **rows(
                "criterion",
                {"label": "Accuracy", "key": "accuracy", "required": "1"},
                {"label": "Brevity", "description": "Short"},
            ),
        },
    )
    assert response.status_code == 302
    assert list(RubricCriterion.objects.filter(project=project).values_list("key", "required")) == [
        ("accuracy", True),
        ("brevity", False),
    ]
    response = client.post(
        url, {"section": "reasons", **rows("reason", {"label": "Too long"}, {"label": ""})}
    )
    assert response.status_code == 302
    assert list(ReasonCode.objects.filter(project=project).values_list("code", "label")) == [
        ("too-long", "Too long")
    ]


def test_policy_page_shows_errors_beside_the_fields_and_saves_nothing(project) -> None:
    client = login(project.created_by)
    url = f"/projects/{project.slug}/review-policy/"
    # The existing stage lost its name; the new row is kept as typed.
    response = client.post(
        url,
        {
            "section": "stages",
            **rows(
                "stage",
                {"name": "", "percent": "100", "min_approvals": "1"},
                {"name": "Expert review", "percent": "20", "min_approvals": "9"},
                existing=1,
            ),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert policy.STAGE_NAME in html and policy.MIN_APPROVALS in html
    assert 'value="Expert review"' in html
    # A refusal of the service (two stages with one name) is shown above the table.
    response = client.post(
        url,
        {
            "section": "stages",
            **rows(
                "stage",
                {"name": "Review", "percent": "100", "min_approvals": "1"},
                {"name": "review", "percent": "20", "min_approvals": "1"},
                existing=1,
            ),
        },
    )
    assert response.status_code == 400
    assert policy.STAGE_NAMES_UNIQUE in response.content.decode()
    assert [s["name"] for s in selectors.review_stages(project)] == ["Review"]
    # Removing every criterion but one, and renaming a reason, in one save each.
    response = client.post(
        url,
        {
            "section": "reasons",
            **rows(
                "reason",
                {"code": "inaccurate", "label": "Inaccurate"},
                {"code": "incomplete", "label": "Incomplete", "DELETE": "on"},
                existing=2,
            ),
        },
    )
    assert response.status_code == 302
    assert list(ReasonCode.objects.filter(project=project).values_list("code", "label")) == [
        ("inaccurate", "Inaccurate")
    ]
    assert client.post(url, {"section": "nonsense"}).status_code == 400
