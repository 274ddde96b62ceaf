"""The judge as an automated check: off by default, configured like any check, run in
the worker's check task against the loopback judge; warns or blocks by threshold, and
an unreachable or unreadable judge is a warning, never a crash or a block."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.states import State
from checks import config
from checks.models import CheckResult
from checks.services import live_results, run_checks_for_revision
from reviews.pipeline import check_submission
from tests.assist.fake_llm import FakeLLM
from tests.assist.judging_helpers import endpoint, judge_prompt
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _enable(project: Any, endpoint_id: int, prompt_id: int, **change: Any) -> None:
    options = {"endpoint": endpoint_id, "prompt": prompt_id, **change.pop("options", {})}
    config.update_checks(
        project=project, changes={"judge": {"enabled": True, "options": options, **change}}
    )


def _judged(project: Any, answer: str) -> CheckResult:
    item = make_item(project, "How do I reset my password?", answer=answer, state=State.SUBMITTED)
    assert item.current_revision_id is not None
    run_checks_for_revision(item.current_revision_id)
    return CheckResult.objects.get(revision_id=item.current_revision_id, name="judge")


def test_the_judge_is_a_check_that_is_off_until_configured(project):
    judge = next(c for c in config.project_checks(project) if c.name == "judge")
    assert judge.enabled is False and judge.severity == "warn"
    assert judge.options == {"endpoint": 0, "prompt": 0, "threshold": 2}
    assert judge.check.cheap is False and judge.check.needs_config is True
    item = make_item(project, "Q", answer="A SCORE=0", state=State.SUBMITTED)
    assert item.current_revision_id is not None
    run_checks_for_revision(item.current_revision_id)
    assert not CheckResult.objects.filter(name="judge").exists()


def test_a_good_answer_passes_with_the_judges_reason(project, fake_llm: FakeLLM):
    judge, prompt = endpoint(project, fake_llm.url), judge_prompt(project)
    _enable(project, judge.pk, prompt.pk)
    result = _judged(project, "Open Settings, then Security. SCORE=3")
    assert result.outcome == "pass"
    assert result.details == {
        "score": 3,
        "reason": "Scored 3 by the test judge.",
        "prompt": prompt.pk,
        "endpoint": judge.pk,
    }
    assert result.message == "The judge scored this answer 3 (good): Scored 3 by the test judge."
    prompt.refresh_from_db()
    assert prompt.used_at is not None
    # The judge saw the item's prompt and the answer under review.
    sent = fake_llm.requests[0]["messages"][-1]["content"]
    assert "How do I reset my password?" in sent and "Security. SCORE=3" in sent


def test_below_the_threshold_warns_or_blocks_as_the_admin_chose(project, fake_llm: FakeLLM):
    judge, prompt = endpoint(project, fake_llm.url), judge_prompt(project)
    _enable(project, judge.pk, prompt.pk)
    warned = _judged(project, "Not sure. SCORE=1")
    assert warned.outcome == "warn" and warned.details["score"] == 1
    assert "below 2" in warned.message
    _enable(project, judge.pk, prompt.pk, severity="block", options={"threshold": 4})
    blocked = _judged(project, "Quite good. SCORE=3")
    assert blocked.outcome == "fail" and blocked.details["score"] == 3


def test_a_blocking_judge_that_fails_to_answer_only_warns(project, fake_llm: FakeLLM):
    down = endpoint(project, fake_llm.url, model="missing", name="down")
    nonsense = endpoint(project, fake_llm.url, model="nonsense", name="chatty")
    prompt = judge_prompt(project)
    _enable(project, down.pk, prompt.pk, severity="block")
    result = _judged(project, "An answer. SCORE=0")
    assert result.outcome == "warn" and "could not be reached" in result.message
    assert result.details == {"score": None, "reason": "", "prompt": prompt.pk, "endpoint": down.pk}
    _enable(project, nonsense.pk, prompt.pk, severity="block")
    result = _judged(project, "Another answer. SCORE=0")
    assert result.outcome == "warn" and "could not be read" in result.message


def test_an_endpoint_of_another_project_is_never_called(project, other_project, fake_llm: FakeLLM):
    foreign = endpoint(other_project, fake_llm.url)
    _enable(project, foreign.pk, judge_prompt(project).pk, severity="block")
    result = _judged(project, "Answer SCORE=0")
    assert result.outcome == "warn" and "not set up" in result.message
    assert fake_llm.calls == 0


def test_the_check_task_routes_the_item_after_the_judge(project, fake_llm: FakeLLM):
    judge, prompt = endpoint(project, fake_llm.url), judge_prompt(project)
    _enable(project, judge.pk, prompt.pk, severity="block")
    item = make_item(project, "Q?", answer="Terrible. SCORE=0", state=State.SUBMITTED)
    assert item.current_revision_id is not None
    check_submission(item.current_revision_id)
    item.refresh_from_db()
    assert item.state == State.RETURNED  # blocked below the threshold: back to its annotator
    result = CheckResult.objects.get(revision_id=item.current_revision_id, name="judge")
    assert result.outcome == "fail" and "Scored 0 by the test judge." in result.message


def test_the_judge_never_runs_while_typing(project, fake_llm: FakeLLM):
    judge, prompt = endpoint(project, fake_llm.url), judge_prompt(project)
    _enable(project, judge.pk, prompt.pk)
    results = live_results(
        project=project,
        messages=[{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
    )
    assert "judge" not in {r.name for r in results}
    assert fake_llm.calls == 0


def test_the_checks_page_offers_the_judge_settings(client, project, alice):
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/checks/").content.decode()
    assert 'id="check-judge"' in page and "LLM judge" in page
    assert 'name="opt-threshold"' in page and 'name="opt-endpoint"' in page
