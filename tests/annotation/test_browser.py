"""The annotator's day in Chromium: start, type, autosave, reload, submit with
Ctrl+Enter, a second tab's conflict, a conversation edit and a correct-task diff."""

from __future__ import annotations

import pytest

from annotation.models import Assignment, Revision
from projects import services as project_services
from projects.models import TaskType
from tests.browser import saved, shot
from tests.factories import make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _saved(page) -> None:
    saved(page)


def test_start_type_autosave_reload_submit_next(new_page, project, alice, anna) -> None:
    project_services.publish_guideline(
        project=project, body="# Support answers\n\n- Be brief.\n- Be kind.", author=alice
    )
    first = make_item(project, "How do I reset my password?", priority=2)
    second = make_item(project, "Can I change my username?")
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url("**/guidelines/")
    assert "acknowledge the current guidelines" in page.inner_text("#messages")
    page.click("#acknowledge")
    page.goto(f"/projects/{project.slug}/work/")
    shot(page, "ann-01-work-page")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{first.pk}/")
    assert "How do I reset my password?" in page.inner_text(".turn-list")
    assert "v1" in page.inner_text("#guideline-panel summary")
    answer = page.locator("textarea.turn-input")
    answer.type("Open Settings, choose Security, then Reset password.")
    _saved(page)
    # The checks panel (the server's live checks, or the in-browser ones until they
    # answer) shows no failure once the answer is written.
    assert page.locator(".checks-panel .badge.fail:visible").count() == 0
    assert page.locator(".checks-panel").inner_text().strip() != "Checks"
    assert "characters" in page.inner_text("#counts")
    shot(page, "ann-02-editor-typed")
    draft = Assignment.objects.get(item=first, user=anna).draft
    assert draft is not None
    assert draft[-1]["content"] == "Open Settings, choose Security, then Reset password."
    page.reload()
    assert page.input_value("textarea.turn-input") == (
        "Open Settings, choose Security, then Reset password."
    )
    page.locator("textarea.turn-input").press("Control+Enter")
    page.wait_for_url(f"**/items/{second.pk}/")
    assert "Can I change my username?" in page.inner_text(".turn-list")
    assert Revision.objects.get(item=first).messages[-1]["content"].startswith("Open Settings")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts")
    shot(page, "ann-03-next-item-shortcuts")


def test_a_second_tab_gets_a_conflict_and_chooses(new_page, project, anna) -> None:
    item = make_item(project, "What are your opening hours?")
    one = new_page(anna)
    one.goto(f"/projects/{project.slug}/work/")
    one.click("#start-working")
    one.wait_for_url(f"**/items/{item.pk}/")
    two = one.context.new_page()
    two.shots = one.shots
    two.goto(f"/items/{item.pk}/")
    one.locator("textarea.turn-input").type("We open at nine.")
    _saved(one)
    two.locator("textarea.turn-input").type("Nine to five, Monday to Friday.")
    two.wait_for_selector("#conflict:not([hidden])")
    assert "We open at nine." in two.inner_text("#conflict-text")
    shot(two, "ann-04-conflict")
    two.click("#keep-mine")
    _saved(two)
    draft = Assignment.objects.get(item=item).draft
    assert draft is not None and draft[-1]["content"] == "Nine to five, Monday to Friday."


def test_conversation_edit_adds_reorders_and_removes_turns(new_page, project, anna) -> None:
    project.task_type = TaskType.CONVERSATION
    project.save(update_fields=["task_type"])
    item = make_item(project, "Hi, my order is late.", system="You are a support agent.")
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    turns = page.locator(".turn")
    assert turns.count() == 3  # system, user, empty assistant
    turns.nth(2).locator("textarea").fill("Sorry! What is the order number?")
    page.click("#add-turn")
    page.keyboard.type("It is 4521.")
    page.keyboard.press("Alt+n")
    page.keyboard.type("Thanks, it ships today.")
    assert [turns.nth(i).locator("select").input_value() for i in range(5)] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    page.click("#add-turn")  # a stray turn, then removed
    assert "empty" in page.inner_text("#local-checks")
    turns.nth(5).locator("[data-action=remove]").click()
    turns.nth(4).locator("[data-action=up]").click()  # wrong order: checks say so
    assert "must alternate" in page.inner_text("#local-checks")
    turns.nth(3).locator("[data-action=down]").click()
    _saved(page)
    shot(page, "ann-05-conversation")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"**/projects/{project.slug}/work/")
    messages = Revision.objects.get(item=item).messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[-1]["content"] == "Thanks, it ships today."


def test_correct_task_shows_a_live_diff_against_the_model_draft(new_page, project, anna) -> None:
    project.task_type = TaskType.CORRECT
    project.save(update_fields=["task_type"])
    item = make_item(project, "Capital of Australia?", draft="The capital is Sydney.")
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    assert page.input_value("textarea.turn-input") == "The capital is Sydney."
    assert "not changed the model's draft" in page.inner_text("#local-checks")
    page.fill("textarea.turn-input", "The capital is Canberra.")
    page.locator("textarea.turn-input").dispatch_event("input")
    assert page.inner_text("#diff del") == "Sydney."
    assert page.inner_text("#diff ins") == "Canberra."
    assert "+1 \u22121" in page.inner_text("#diff-stats")
    _saved(page)
    shot(page, "ann-06-correct-diff")


def test_admin_sets_up_a_queue_and_annotator_sees_my_work(new_page, project, alice, anna) -> None:
    make_item(project, "Is aspirin safe with ibuprofen?", tags=["medical"])
    make_item(project, "Where is my parcel?")
    admin = new_page(alice)
    admin.goto(f"/projects/{project.slug}/queues/")
    admin.fill("#id_name", "Clinicians")
    admin.fill("#id_priority", "10")
    admin.fill("#id_tags", "medical")
    admin.click("button:has-text('Create queue')")
    admin.wait_for_selector("text=Queue “Clinicians” created.")
    row = admin.locator("tr", has_text="Clinicians")
    assert row.locator(".depth").inner_text() == "1"
    assert admin.locator("tr", has_text="Default").locator(".depth").inner_text() == "1"
    shot(admin, "ann-07-queues")

    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_selector("textarea.turn-input")
    page.locator("textarea.turn-input").type("It left the depot this morning.")
    _saved(page)
    page.goto("/my-work/")
    assert "Is aspirin safe with ibuprofen?" in page.inner_text("#drafts")  # higher queue
    shot(page, "ann-08-my-work")
    page.click("#drafts >> text=Resume")
    assert page.input_value("textarea.turn-input") == "It left the depot this morning."


def test_a_conversation_opens_with_its_imported_reply(new_page, project, anna, rita) -> None:
    project.task_type = TaskType.CONVERSATION
    project.save(update_fields=["task_type"])
    # As the importer stores a chat that ends with the assistant: the reply is the draft.
    item = make_item(
        project, "I fell off my bike today.", system="Be positive.", draft="Great exercise!"
    )
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    turns = page.locator(".turn")
    assert turns.count() == 3
    assert turns.nth(2).locator("select").input_value() == "assistant"
    assert turns.nth(2).locator("textarea").input_value() == "Great exercise!"


def test_a_quick_reload_after_typing_shows_no_conflict(new_page, project, anna) -> None:
    """The keep-alive save sent as the page unloads lands after the reloaded page was
    rendered with the previous version: the same text, so no conflict."""
    item = make_item(project, "What are your opening hours?")
    page = new_page(anna)
    page.goto(f"/projects/{project.slug}/work/")
    page.click("#start-working")
    page.wait_for_url(f"**/items/{item.pk}/")
    page.locator("textarea.turn-input").type("We open at nine")
    _saved(page)
    held: list = []
    hold = {"on": True}

    def delay_saves(route) -> None:
        if route.request.method == "PUT" and hold["on"]:
            held.append(route)  # answered below, in the order they were sent
        else:
            route.continue_()

    page.route("**/draft/", delay_saves)
    page.locator("textarea.turn-input").type(" sharp.")
    page.reload()  # within the autosave's delay: the unload sends the keep-alive save
    # The page rendered the older version, restored the newer text kept on this device
    # and saves it: two saves of the same text with the same token, held until now.
    for _ in range(50):
        if len(held) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(held) == 2, (len(held), page.inner_text("#save-status"))
    hold["on"] = False
    for route in held:
        route.continue_()
        page.wait_for_timeout(300)
    _saved(page)
    assert page.is_hidden("#conflict")
    assert page.input_value("textarea.turn-input") == "We open at nine sharp."
    draft = Assignment.objects.get(item=item).draft
    assert draft is not None and draft[-1]["content"] == "We open at nine sharp."


def test_the_read_only_item_counts_the_shown_answer(new_page, project, anna, rita) -> None:
    item = make_item(project, "Hours?", answer="Nine to five.", author=anna, state="approved")
    page = new_page(rita)
    page.goto(f"/items/{item.pk}/")
    assert "Nine to five." in page.inner_text(".turn-list")
    assert page.inner_text("#count-chars") == "13 characters"
    assert page.inner_text("#count-words") == "3 words"
