"""In a real browser: an annotator answers, a reviewer rejects with reasons and
feedback, the annotator sees the feedback and resubmits, and the reviewer sees what
changed and approves."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from annotation.models import Item
from annotation.states import State
from reviews.models import Review
from tests.browser import shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = "Open the Settings page and choose Security, then press Reset password."
SECOND = (
    "Open the Settings page and choose Security, then press Reset password. "
    "In the mobile app, tap your avatar first, then Settings."
)


def test_reviewer_rejects_with_feedback_annotator_reworks_reviewer_approves(
    new_page, project, anna, rita
) -> None:
    item = make_item(
        project,
        "How do I reset my password in the app?",
        system="You are a friendly support agent.",
    )

    # The annotator answers in the editor.
    annotator = new_page(anna)
    annotator.goto(f"/projects/{project.slug}/work/")
    annotator.click("#start-working")
    annotator.wait_for_url(f"**/items/{item.pk}/")
    annotator.fill("textarea.turn-input", FIRST)
    annotator.click("#submit-button")
    annotator.wait_for_url(lambda url: not urlsplit(url).path.endswith(f"/items/{item.pk}/"))
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW, item.state

    # The reviewer takes it from the queue and rejects with a reason and feedback.
    reviewer = new_page(rita)
    reviewer.goto(f"/projects/{project.slug}/review/")
    shot(reviewer, "review-01-queue")
    reviewer.click("#stage-0 button:has-text('Start reviewing')")
    reviewer.wait_for_url(f"**/review/items/{item.pk}/")
    assert "You are a friendly support agent." in reviewer.inner_text("#prompt")
    assert FIRST in reviewer.inner_text("#answer")
    shot(reviewer, "review-02-screen")
    # Reject without feedback: refused, and the key shortcut focuses the feedback box.
    reviewer.check("#reasons input[value=incomplete]")
    reviewer.click("#btn-reject")
    assert "Write feedback" in reviewer.inner_text("#decision-errors")
    reviewer.locator("#rubric .criterion").first.locator("label.score").nth(2).click()
    reviewer.fill("#feedback", "Also explain the steps in the mobile app.")
    reviewer.keyboard.press("Control+Enter")
    reviewer.wait_for_url(f"**/projects/{project.slug}/review/")
    assert "Returned to the annotator" in reviewer.inner_text("#messages")
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.RETURNED, 0)

    # The annotator gets the item back first, sees the feedback and resubmits.
    annotator.goto(f"/projects/{project.slug}/work/")
    annotator.click("#start-working")
    annotator.wait_for_url(f"**/items/{item.pk}/")
    feedback = annotator.inner_text("#feedback")
    assert "Also explain the steps in the mobile app." in feedback
    shot(annotator, "review-03-annotator-sees-feedback")
    annotator.fill("textarea.turn-input", SECOND)
    annotator.click("#submit-button")
    annotator.wait_for_url(lambda url: not urlsplit(url).path.endswith(f"/items/{item.pk}/"))
    item.refresh_from_db()
    assert (item.state, item.stage) == (State.IN_REVIEW, 0)

    # The reviewer sees what changed since the rejection and approves with the key.
    reviewer.goto(f"/projects/{project.slug}/review/")
    reviewer.click("#stage-0 button:has-text('Start reviewing')")
    reviewer.wait_for_url(f"**/review/items/{item.pk}/")
    assert "tap your avatar first" in reviewer.inner_text("#previous-diff ins")
    assert "Also explain the steps in the mobile app." in reviewer.inner_text("#history")
    shot(reviewer, "review-04-rework-diff")
    reviewer.keyboard.press("a")
    reviewer.wait_for_url(f"**/projects/{project.slug}/review/")
    assert Item.objects.get(pk=item.pk).state == State.APPROVED
    assert list(Review.objects.filter(item=item).values_list("decision", flat=True)) == [
        "reject",
        "approve",
    ]


def test_reviewer_cannot_open_their_own_work(new_page, project, rita) -> None:
    from tests.reviews.conftest import in_review

    item = in_review(project, rita)
    page = new_page(rita)
    page.goto(f"/projects/{project.slug}/review/items/{item.pk}/")
    assert "This is your own work" in page.inner_text("#own-work")
    assert page.locator("#btn-approve").count() == 0


def test_admin_adds_a_stage_on_the_policy_page(new_page, project, alice, rita) -> None:
    from reviews import selectors

    page = new_page(alice)
    page.goto(f"/projects/{project.slug}/review-policy/")
    page.fill("input[aria-label='New stage name']", "Expert review")
    page.fill("input[aria-label='New stage sample percent']", "20")
    page.select_option("select[aria-label='New stage reviewers']", label="rita")
    page.click("#stages button:has-text('Save stages')")
    page.wait_for_selector("text=Review stages saved")
    shot(page, "review-05-policy")
    assert [s["name"] for s in selectors.review_stages(project)] == ["Review", "Expert review"]
    assert selectors.review_stages(project)[1]["reviewers"] == ["rita"]


def test_reviewer_picks_the_best_of_two_answers_in_a_correct_task(
    new_page, project, anna, rita
) -> None:
    from annotation.models import Revision, RevisionKind
    from projects import services as project_services
    from projects.models import Role
    from reviews import routing
    from tests.conftest import _user

    _user("bea")
    project_services.set_member(project=project, username="bea", role=Role.ANNOTATOR)
    project.task_type = "correct"
    project.overlap = 2
    project.save(update_fields=["task_type", "overlap"])
    draft = "Go to settings and press reset."
    item = make_item(
        project,
        "How do I reset my password?",
        draft=draft,
        answer="Go to Settings, choose Security and press Reset password.",
        author=anna,
        state=State.SUBMITTED,
    )
    bea_revision = Revision.objects.create(
        item=item,
        messages=[
            *item.source,
            {"role": "assistant", "content": "Go to settings and press reset now."},
        ],
        kind=RevisionKind.SUBMISSION,
        author=project.memberships.get(user__username="bea").user,
    )
    routing.enter_review(item)

    page = new_page(rita)
    page.goto(f"/projects/{project.slug}/review/")
    page.click("#stage-0 button:has-text('Start reviewing')")
    page.wait_for_url(f"**/review/items/{item.pk}/")
    assert "2 answers: pick the best" in page.inner_text("#candidates")
    assert "Security" in page.inner_text("#candidates .candidate >> nth=0 >> ins")
    # Picking the second answer puts its text in the editor.
    page.click(f"input[name=picked_revision][value='{bea_revision.pk}']")
    page.click("#edit-panel summary")
    assert page.input_value("#answer-edit") == "Go to settings and press reset now."
    shot(page, "review-06-overlap-pick")
    page.fill("#answer-edit", "Go to Settings and press Reset password.")
    page.click("#btn-edit")
    page.wait_for_url(f"**/projects/{project.slug}/review/")
    item.refresh_from_db()
    assert item.state == State.APPROVED
    review = Review.objects.get(item=item)
    assert review.revision_id == bea_revision.pk and review.decision == "edit"
    assert len(review.alternatives) == 1
