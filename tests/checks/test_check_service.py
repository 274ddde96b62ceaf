"""The checks service: defaults of a new project, configuration, running the checks on
a submission (routing, idempotence), the duplicate index, re-check jobs and the sweeper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.models import Item, Revision, RevisionKind, Transition
from annotation.states import State
from checks import config, recheck, services
from checks.models import CheckResult, DuplicateBand, DuplicateEntry
from checks.registry import REGISTRY
from core.enqueue import CHECK_SUBMISSION, enqueue
from core.models import JobStatus
from projects.models import Job, TaskType
from reviews import pipeline
from tests.factories import make_item

GOOD = "Open Settings, choose Security and click Reset password. We email you a link."


def submitted(project: Any, answer: str = GOOD, **kwargs: Any) -> Item:
    return make_item(project, answer=answer, state=State.SUBMITTED, **kwargs)


def check(item: Item) -> Item:
    assert item.current_revision_id is not None
    pipeline.check_submission(item.current_revision_id)  # what the check task runs
    item.refresh_from_db()
    return item


def configured(project: Any, name: str) -> config.ConfiguredCheck:
    return next(c for c in config.project_checks(project) if c.name == name)


def outcomes(item: Item) -> dict[str, str]:
    return dict(
        CheckResult.objects.filter(revision=item.current_revision).values_list("name", "outcome")
    )


@pytest.mark.django_db
def test_a_new_project_has_every_check_that_needs_no_configuration_enabled(project: Any) -> None:
    rows = {c.name: c for c in config.project_checks(project)}
    assert set(rows) == set(REGISTRY)
    for name, check_ in REGISTRY.items():
        assert rows[name].enabled is (not check_.needs_config), name
    assert rows["format"].severity == "block"
    assert rows["placeholder"].severity == "block"
    assert rows["pii"].severity == "warn"
    assert not rows["required_prefix"].enabled


@pytest.mark.django_db
def test_a_clean_submission_passes_and_enters_review(project: Any) -> None:
    item = check(submitted(project))
    assert item.state == State.IN_REVIEW
    results = outcomes(item)
    assert set(results.values()) == {"pass"}
    assert "rubber_stamp" not in results  # only for correct tasks
    assert "required_prefix" not in results  # not enabled


@pytest.mark.django_db
def test_a_blocking_failure_returns_the_item_with_the_message(project: Any) -> None:
    item = check(submitted(project, answer="Dear {{customer}}, TODO."))
    assert item.state == State.RETURNED
    assert outcomes(item)["placeholder"] == "fail"
    last = Transition.objects.filter(item=item).last()
    assert last is not None and last.to_state == State.RETURNED
    assert "Placeholder text" in last.reason


@pytest.mark.django_db
def test_a_warning_goes_to_the_reviewer(project: Any) -> None:
    item = check(submitted(project, answer="Email me at jane.doe@example.com and I will reply."))
    assert item.state == State.IN_REVIEW
    assert outcomes(item)["pii"] == "warn"
    result = CheckResult.objects.get(revision=item.current_revision, name="pii")
    assert result.details["spans"][0]["text"] == "jane.doe@example.com"


@pytest.mark.django_db
def test_severity_decides_block_or_warn(project: Any) -> None:
    config.update_checks(project=project, changes={"pii": {"severity": "block"}})
    item = check(submitted(project, answer="Email me at jane.doe@example.com and I will reply."))
    assert item.state == State.RETURNED
    assert outcomes(item)["pii"] == "fail"


@pytest.mark.django_db
def test_running_twice_stores_one_set_of_results_and_moves_once(project: Any) -> None:
    item = check(submitted(project))
    count = CheckResult.objects.filter(revision=item.current_revision).count()
    moves = Transition.objects.filter(item=item).count()
    check(item)  # a re-delivered task
    assert CheckResult.objects.filter(revision=item.current_revision).count() == count
    assert Transition.objects.filter(item=item).count() == moves
    assert DuplicateBand.objects.filter(item=item).count() == len(
        set(DuplicateBand.objects.filter(item=item).values_list("key", flat=True))
    )


@pytest.mark.django_db
def test_results_of_a_stale_revision_do_not_move_the_item(project: Any, anna: Any) -> None:
    item = submitted(project)
    old = item.current_revision
    assert old is not None
    newer = Revision.objects.create(
        item=item, messages=old.messages, kind=RevisionKind.SUBMISSION, author=anna
    )
    Item.objects.filter(pk=item.pk).update(current_revision=newer)
    pipeline.check_submission(old.pk)
    item.refresh_from_db()
    assert item.state == State.SUBMITTED
    assert not DuplicateEntry.objects.filter(item=item).exists()  # only the current text is indexed


@pytest.mark.django_db
def test_submit_through_the_pipeline_runs_the_checks(
    project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = submitted(project)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue(CHECK_SUBMISSION, item.current_revision_id)  # as submit does
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW
    assert CheckResult.objects.filter(revision=item.current_revision).exists()


@pytest.mark.django_db
def test_rubber_stamp_in_a_correct_project(alice: Any) -> None:
    from projects.services import create_project

    project = create_project(creator=alice, name="Fix drafts", task_type=TaskType.CORRECT)
    draft = "The capital of Australia is Sydney."
    item = check(submitted(project, answer=draft, draft=draft))
    assert item.state == State.RETURNED
    assert outcomes(item)["rubber_stamp"] == "fail"


@pytest.mark.django_db
def test_exact_and_near_duplicates_across_the_project(project: Any) -> None:
    text = (
        "To reset your password open Settings, choose Security and click Reset password, then follow "
        "the link we email you. The link works for one hour and only once, so use it soon. If the "
        "email does not arrive within ten minutes, look in your spam folder or ask your administrator "
        "to send a new link from the admin console under Users."
    )
    first = check(submitted(project, prompt="How do I reset my password?", answer=text))
    same_prompt = check(
        submitted(project, prompt="How do I reset my password?", answer="Ask support.")
    )
    result = CheckResult.objects.get(revision=same_prompt.current_revision, name="exact_duplicate")
    assert result.outcome == "warn" and f"item #{first.pk}" in result.message
    near = check(
        submitted(
            project,
            prompt="How can I reset my password?",
            answer=text.replace("ten minutes", "15 minutes"),
        )
    )
    result = CheckResult.objects.get(revision=near.current_revision, name="near_duplicate")
    assert result.outcome == "warn", result.message
    assert result.details["duplicate_of"] == first.pk
    stranger = check(
        submitted(
            project,
            prompt="Best pasta?",
            answer="Fresh tagliatelle with butter and sage is hard to beat.",
        )
    )
    assert outcomes(stranger)["near_duplicate"] == "pass"
    assert outcomes(stranger)["exact_duplicate"] == "pass"


COPIED = (
    "The French Revolution began in 1789 when debt, bread prices and resentment of noble "
    "privilege brought the Estates-General to Versailles; within weeks the Third Estate "
    "declared itself the National Assembly and Parisians stormed the Bastille."
)


@pytest.mark.django_db
def test_an_answer_copied_onto_a_different_prompt_is_flagged(project: Any) -> None:
    first = check(submitted(project, prompt="Why did the French Revolution start?", answer=COPIED))
    assert outcomes(first)["duplicate_answer"] == "pass"
    copy = check(submitted(project, prompt="Say the same thing again: " + COPIED, answer=COPIED))
    result = CheckResult.objects.get(revision=copy.current_revision, name="duplicate_answer")
    assert result.outcome == "warn" and f"item #{first.pk}" in result.message, result.message
    assert result.details["duplicate_of"] == first.pk
    assert outcomes(copy)["exact_duplicate"] == "pass"  # the prompts differ
    near = check(
        submitted(
            project,
            prompt="Repeat: " + COPIED,
            answer=COPIED.replace("within weeks", "within a few weeks"),
        )
    )
    result = CheckResult.objects.get(revision=near.current_revision, name="duplicate_answer")
    assert result.outcome == "warn", result.message
    assert result.details["duplicate_of"] in {first.pk, copy.pk}
    assert {d["item"] for d in result.details["items"]} == {first.pk, copy.pk}


@pytest.mark.django_db
def test_short_or_same_prompt_answers_are_not_copies(project: Any) -> None:
    check(submitted(project, prompt="Can you help me?", answer="Yes."))
    check(submitted(project, prompt="Thanks for the help!", answer="Thank you!"))
    assert (
        outcomes(check(submitted(project, prompt="Is it free?", answer="Yes.")))["duplicate_answer"]
        == "pass"
    )
    assert (
        outcomes(check(submitted(project, prompt="Great, thanks.", answer="Thank you!")))[
            "duplicate_answer"
        ]
        == "pass"
    )
    # The same conversation again is the exact-duplicate check's, not a copied answer.
    check(submitted(project, prompt="Why did it start?", answer=COPIED))
    again = check(submitted(project, prompt="Why did it start?", answer=COPIED))
    assert outcomes(again)["exact_duplicate"] == "warn"
    assert outcomes(again)["duplicate_answer"] == "pass"


@pytest.mark.django_db
def test_looking_up_copied_answers_costs_a_few_indexed_queries(
    project: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        check(submitted(project, prompt=f"Question {n}?", answer=f"{COPIED} Also note {n}."))
    item = submitted(project, prompt="Repeat it.", answer=COPIED)
    assert item.current_revision is not None
    messages = item.current_revision.messages
    fp = services.fingerprint(item, messages)
    with django_assert_max_num_queries(4):
        found = services.find_duplicates(
            project_id=project.pk,
            item_id=item.pk,
            messages=messages,
            fp=fp,
            near=False,
            exact=False,
            answer_min_chars=40,
        )
    assert found and all(d.what == "answer" for d in found)
    with django_assert_max_num_queries(0):  # a short answer is not looked up at all
        services.find_duplicates(
            project_id=project.pk,
            item_id=item.pk,
            messages=messages,
            fp=fp,
            near=False,
            exact=False,
            answer_min_chars=10_000,
        )


@pytest.mark.django_db
def test_copied_answers_do_not_cross_projects(project: Any, other_project: Any) -> None:
    check(submitted(other_project, prompt="Why did the Revolution start?", answer=COPIED))
    item = check(submitted(project, prompt="Repeat: " + COPIED, answer=COPIED))
    assert outcomes(item)["duplicate_answer"] == "pass"


@pytest.mark.django_db
def test_duplicates_do_not_cross_projects(project: Any, other_project: Any) -> None:
    check(submitted(other_project, prompt="Same prompt", answer=GOOD))
    item = check(submitted(project, prompt="Same prompt", answer=GOOD))
    assert outcomes(item)["exact_duplicate"] == "pass"
    assert outcomes(item)["near_duplicate"] == "pass"


@pytest.mark.django_db
def test_update_checks_validates_everything_before_saving(project: Any) -> None:
    with pytest.raises(ValidationError, match="severity must be"):
        config.update_checks(project=project, changes={"pii": {"severity": "loud"}})
    with pytest.raises(ValidationError, match="no check called"):
        config.update_checks(project=project, changes={"nope": {}})
    with pytest.raises(ValidationError, match="set prefix before enabling"):
        config.update_checks(project=project, changes={"required_prefix": {"enabled": True}})
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        config.update_checks(project=project, changes={"regex": {"options": {"pattern": "("}}})
    with pytest.raises(ValidationError, match="at most 1"):
        config.update_checks(
            project=project,
            changes={"length": {"enabled": False}, "near_duplicate": {"options": {"threshold": 3}}},
        )
    assert configured(project, "length").enabled  # nothing half-applied
    updated = config.update_checks(
        project=project,
        changes={
            "required_prefix": {"enabled": True, "options": {"prefix": "CloudSync Pro Support:"}}
        },
    )
    assert next(c for c in updated if c.name == "required_prefix").enabled
    item = check(submitted(project, answer="Hello there, I can help."))
    assert item.state == State.RETURNED
    assert outcomes(item)["required_prefix"] == "fail"


@pytest.mark.django_db
def test_live_results_use_the_cheap_checks_only(project: Any) -> None:
    results = services.live_results(
        project=project,
        messages='[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "TODO"}]',
    )
    by_name = {r.name: r.outcome for r in results}
    assert by_name["placeholder"] == "fail"
    assert "near_duplicate" not in by_name and "exact_duplicate" not in by_name
    with pytest.raises(ValidationError):
        services.live_results(project=project, messages="not json")


@pytest.mark.django_db
def test_recheck_job_recomputes_results_after_a_config_change(
    project: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = check(submitted(project, answer="Write to jane.doe@example.com please."))
    assert outcomes(item)["pii"] == "warn"
    config.update_checks(
        project=project,
        changes={"pii": {"enabled": False}, "toxicity": {"options": {"extra_terms": ["please"]}}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = recheck.start_recheck(project=project, actor=alice, item_ids=[item.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == job.total == 1
    assert outcomes(item)["toxicity"] == "warn"
    assert "pii" not in outcomes(item)  # switched off: its old warning no longer shows
    assert job.result == {"warn": 1}
    assert CheckResult.objects.filter(revision=item.current_revision, name="toxicity").count() == 1


@pytest.mark.django_db
def test_a_finished_recheck_job_run_again_changes_nothing(
    project: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = check(submitted(project, answer="Write to jane.doe@example.com please."))
    with django_capture_on_commit_callbacks(execute=True):
        job = recheck.start_recheck(project=project, actor=alice, item_ids=[item.pk])
    job.refresh_from_db()
    finished_at = job.finished_at
    assert job.status == JobStatus.SUCCEEDED and finished_at is not None
    config.update_checks(project=project, changes={"pii": {"enabled": False}})
    recheck.run_recheck_job(job.pk)  # a re-delivered task
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.finished_at == finished_at
    assert outcomes(item)["pii"] == "warn"  # not recomputed
    cancelled = Job.objects.create(
        project=project,
        kind="recheck",
        status=JobStatus.CANCELLED,
        total=1,
        params={"items": [item.pk], "state": ""},
    )
    recheck.run_recheck_job(cancelled.pk)
    cancelled.refresh_from_db()
    assert cancelled.status == JobStatus.CANCELLED and cancelled.progress == 0
    assert outcomes(item)["pii"] == "warn"
    recheck.run_recheck_job(0)  # gone: nothing to do


@pytest.mark.django_db
def test_a_recheck_job_delivered_again_resumes_from_its_progress(project: Any) -> None:
    first = check(submitted(project, answer="Write to jane.doe@example.com please."))
    second = check(
        submitted(project, prompt="Another question?", answer="Mail john.roe@example.org now.")
    )
    assert outcomes(first)["pii"] == outcomes(second)["pii"] == "warn"
    config.update_checks(project=project, changes={"pii": {"enabled": False}})
    started = timezone.now() - timedelta(minutes=5)
    # Its worker stopped after the first item: the job is still marked running.
    job = Job.objects.create(
        project=project,
        kind="recheck",
        status=JobStatus.RUNNING,
        started_at=started,
        total=2,
        progress=1,
        params={"items": [first.pk, second.pk], "state": ""},
        result={"warn": 1},
    )
    recheck.run_recheck_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 2
    assert job.started_at == started and job.finished_at is not None
    assert sum(job.result.values()) == 2
    assert outcomes(first)["pii"] == "warn"  # done before the stop: not run again
    assert "pii" not in outcomes(second)


@pytest.mark.django_db
def test_recheck_refuses_foreign_or_missing_items(
    project: Any, other_project: Any, alice: Any
) -> None:
    foreign = submitted(other_project)
    with pytest.raises(ValidationError, match="not in this project"):
        recheck.start_recheck(project=project, actor=alice, item_ids=[foreign.pk])
    with pytest.raises(ValidationError, match="Choose the items"):
        recheck.start_recheck(project=project, actor=alice)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_sweeper_rescues_items_stuck_in_submitted(
    project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.cache import cache

    cache.clear()
    stuck = submitted(project)
    fresh = submitted(project, prompt="Another question?")
    Item.objects.filter(pk=stuck.pk).update(state_changed_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert recheck.sweep_stuck_submissions() == 1  # tasks run in-process here
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.state == State.IN_REVIEW
    assert fresh.state == State.SUBMITTED  # young: its task is probably still queued
    assert recheck.sweep_stuck_submissions() == 0
