"""Judgement runs against the loopback judge: reading its answers, the family rule,
runs over answers, drafts and a generation run, resuming without judging twice, and the
API's permissions."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from assist import judging
from assist.judging_run import run_judgement_job
from assist.models import Judgement, PromptVersion
from core.models import JobStatus
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.assist.judging_helpers import (
    draft_prompt,
    endpoint,
    generation_run,
    items_with_scores,
    judge_prompt,
    sample_of,
)
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "score", "reason"),
    [
        ('{"score": 3, "reason": "Right, a little terse."}', 3, "Right, a little terse."),
        ('Here you go:\n```json\n{"score": 1, "reason": "Wrong port."}\n```', 1, "Wrong port."),
        ('My verdict is {"score": "4", "reason": "Fine."} as asked.', 4, "Fine."),
        ('{"score": "good", "reason": "ok"}', 3, "ok"),
        ("Excellent", 4, ""),
        ("very bad.\nIt insults the user.", 0, "It insults the user."),
        ("Score: 2\nPartly right.", 2, "Partly right."),
        ("**Score**: 3", 3, ""),
        ('{"score": 7, "reason": "Off the scale."}', None, "Off the scale."),
        ("Score: 9", None, ""),
        ('{"score": 2.5, "reason": "half"}', None, "half"),
        ("What a lovely answer, I enjoyed reading it.", None, ""),
        ("", None, ""),
    ],
)
def test_the_judges_answer_is_read_or_counted_invalid(text: str, score: int | None, reason: str):
    parsed = judging.parse_judgement(text)
    assert (parsed.score, parsed.reason) == (score, reason)


def test_a_generation_runs_outputs_are_judged_once_each(project, alice, fake_llm: FakeLLM):
    drafter = endpoint(project, fake_llm.url, model="gpt-4o-mini", family="openai")
    judge = endpoint(project, fake_llm.url, price_input=2, price_output=10, max_concurrency=3)
    items = [make_item(project, f"Question {n}?") for n in range(5)]
    run = generation_run(project, drafter, {i: f"Reply SCORE={n % 5}" for n, i in enumerate(items)})
    prompt = judge_prompt(project)

    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=prompt.pk, generation=run.pk
    )
    assert job.params["target"] == "generation" and job.params["model"] == "judge"
    assert job.params["family"] == "mistral" and job.params["prompt"] == prompt.pk
    assert job.params["allow_same_family"] is False
    prompt.refresh_from_db()
    assert prompt.used_at is not None
    run_judgement_job(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == job.total == 5
    rows = {j.item_id: j for j in Judgement.objects.filter(job=job)}
    assert [rows[i.pk].score for i in items] == [0, 1, 2, 3, 4]
    assert all(r.generation is not None and r.generation.job_id == run.pk for r in rows.values())
    assert rows[items[4].pk].reason == "Scored 4 by the test judge."
    assert job.result["mean"] == 2.0 and job.result["invalid"] == 0
    assert job.result["prompt_tokens"] > 0 and job.result["cost"] > 0
    assert fake_llm.calls == 5 and fake_llm.max_in_flight <= 3
    # The judge saw the answer under judgement inside the default template.
    assert "Answer to rate:\nReply SCORE=" in fake_llm.requests[0]["messages"][-1]["content"]
    assert "response_format" not in fake_llm.requests[0]


def test_current_answers_are_judged_with_their_revision(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url, supports_json_schema=True)
    items = items_with_scores(project, [4, 1])
    make_item(project, "Not answered yet")
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    assert job.total == 2  # the unanswered item has nothing to judge
    run_judgement_job(job.pk)
    rows = list(Judgement.objects.filter(job=job).order_by("item_id"))
    assert [(r.item_id, r.score) for r in rows] == [(items[0].pk, 4), (items[1].pk, 1)]
    assert [r.revision_id for r in rows] == [i.current_revision_id for i in items]
    schema = fake_llm.requests[0]["response_format"]
    assert schema["json_schema"]["schema"]["properties"]["score"]["maximum"] == 4


def test_model_drafts_of_a_sample_are_judged(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url)
    items = [make_item(project, f"Q{n}", draft=f"Draft SCORE={n}") for n in range(4)]
    job = judging.start_judgement(
        project=project,
        actor=alice,
        endpoint=judge.pk,
        prompt=judge_prompt(project).pk,
        sample=sample_of(project, items[:3]).pk,
        target="drafts",
    )
    run_judgement_job(job.pk)
    scores = dict(Judgement.objects.filter(job=job).values_list("item_id", "score"))
    assert scores == {items[0].pk: 0, items[1].pk: 1, items[2].pk: 2}


def test_nonsense_is_invalid_and_counted_apart(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url, model="nonsense")
    items_with_scores(project, [3, 3])
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    run_judgement_job(job.pk)
    job.refresh_from_db()
    assert job.result["invalid"] == 2 and job.result["scored"] == 0 and job.result["mean"] is None
    row = Judgement.objects.filter(job=job).first()
    assert row is not None and row.score is None
    assert row.raw == "What a lovely answer, I enjoyed reading it."


def test_an_unreachable_model_is_an_error_per_item(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url, model="missing")
    items_with_scores(project, [3])
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    run_judgement_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["errors"] == 1 and job.result["invalid"] == 0
    assert "has no model 'missing'" in job.errors[0]["message"]


def test_a_run_resumed_after_a_crash_judges_each_item_once(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url)
    items = items_with_scores(project, [1, 2, 3, 4])
    prompt = judge_prompt(project)
    job = judging.start_judgement(project=project, actor=alice, endpoint=judge.pk, prompt=prompt.pk)
    # The first worker judged one item, then died: the job is still marked running.
    Judgement.objects.create(job=job, prompt=prompt, item=items[0], score=1, reason="first")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=1)
    run_judgement_job(job.pk)
    assert fake_llm.calls == 3
    assert Judgement.objects.filter(job=job).count() == 4
    assert Judgement.objects.get(job=job, item=items[0]).reason == "first"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 4
    run_judgement_job(job.pk)  # delivered once more: a finished run is left alone
    assert fake_llm.calls == 3


def test_a_cancelled_run_judges_nothing_more(project, alice, fake_llm: FakeLLM):
    judge = endpoint(project, fake_llm.url)
    items_with_scores(project, [1, 2])
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    assert judging.cancel_judgement(job)
    run_judgement_job(job.pk)
    assert fake_llm.calls == 0
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED


def test_a_judge_of_the_drafters_family_is_refused_unless_overridden(project, alice, fake_llm):
    drafter = endpoint(project, fake_llm.url, model="gpt-4o-mini", family="openai", name="drafter")
    judge = endpoint(project, fake_llm.url, model="gpt-4", family="openai", name="big judge")
    items = [make_item(project, "Q")]
    run = generation_run(project, drafter, {items[0]: "SCORE=2"})
    prompt = judge_prompt(project)
    with pytest.raises(ValidationError) as refused:
        judging.start_judgement(
            project=project, actor=alice, endpoint=judge.pk, prompt=prompt.pk, generation=run.pk
        )
    message = refused.value.message_dict["allow_same_family"][0]
    assert "gpt-4" in message and "gpt-4o-mini" in message and "“openai”" in message
    assert not Job.objects.filter(kind="judgement").exists()
    job = judging.start_judgement(
        project=project,
        actor=alice,
        endpoint=judge.pk,
        prompt=prompt.pk,
        generation=run.pk,
        allow_same_family=True,
    )
    assert job.params["allow_same_family"] is True
    assert judging.override_note(job) == (
        "Same-family override: the judge and the drafting model are both openai."
    )


def test_drafts_carry_the_family_of_the_run_that_applied_them(project, alice, fake_llm):
    drafter = endpoint(project, fake_llm.url, model="qwen2.5:7b", family="qwen", name="drafter")
    judge = endpoint(project, fake_llm.url, model="qwq", family="qwen", name="judge")
    items = [make_item(project, "Q")]
    generation_run(project, drafter, {items[0]: "SCORE=3"}, applied=True)
    with pytest.raises(ValidationError, match="qwen"):
        judging.start_judgement(
            project=project,
            actor=alice,
            endpoint=judge.pk,
            prompt=judge_prompt(project).pk,
            target="drafts",
        )
    other = endpoint(project, fake_llm.url, family="mistral", name="other judge")
    job = judging.start_judgement(
        project=project,
        actor=alice,
        endpoint=other.pk,
        prompt=judge_prompt(project, "j2").pk,
        target="drafts",
    )
    assert job.params["drafting_families"] == ["qwen"] and not job.params["allow_same_family"]


def test_only_a_judge_prompt_judges(project, alice, fake_llm):
    judge = endpoint(project, fake_llm.url)
    items_with_scores(project, [1])
    with pytest.raises(ValidationError, match="needs a judge prompt"):
        judging.start_judgement(
            project=project, actor=alice, endpoint=judge.pk, prompt=draft_prompt(project).pk
        )


# -- the API ----------------------------------------------------------------------------


def _url(project: Any) -> str:
    return f"/api/v1/projects/{project.pk}/judgements/"


def test_the_api_starts_a_run_and_reports_it(
    api, project, alice, fake_llm, django_capture_on_commit_callbacks
):
    judge = endpoint(project, fake_llm.url)
    items_with_scores(project, [0, 4, 4])
    prompt = judge_prompt(project)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(alice).post(
            _url(project), {"endpoint": judge.pk, "prompt": prompt.pk}, format="json"
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "judgement" and body["run"]["model"] == "judge"
    report = api(alice).get(f"{_url(project)}{body['id']}/").json()
    assert report["status"] == "succeeded"
    counts = {d["score"]: d["count"] for d in report["report"]["distribution"]}
    assert counts == {0: 1, 1: 0, 2: 0, 3: 0, 4: 2}
    listed = api(alice).get(_url(project)).json()
    assert [r["id"] for r in listed] == [body["id"]]


def test_the_api_refuses_a_same_family_judge_with_a_message(api, project, alice, fake_llm):
    drafter = endpoint(project, fake_llm.url, model="llama3.1", family="llama", name="d")
    judge = endpoint(project, fake_llm.url, model="llama3.3:70b", family="llama", name="j")
    item = make_item(project, "Q")
    run = generation_run(project, drafter, {item: "SCORE=1"})
    data = {"endpoint": judge.pk, "prompt": judge_prompt(project).pk, "generation": run.pk}
    response = api(alice).post(_url(project), data, format="json")
    assert response.status_code == 400
    assert "“llama”" in response.json()["detail"]
    response = api(alice).post(_url(project), {**data, "allow_same_family": True}, format="json")
    assert response.status_code == 202
    assert response.json()["run"]["override_note"].endswith("both llama.")


def test_the_api_refuses_unknown_fields_and_foreign_ids(
    api, project, other_project, alice, fake_llm
):
    judge = endpoint(project, fake_llm.url)
    foreign = endpoint(other_project, fake_llm.url)
    items_with_scores(project, [1])
    prompt = judge_prompt(project)
    client = api(alice)
    response = client.post(
        _url(project), {"endpoint": judge.pk, "prompt": prompt.pk, "colour": "red"}, format="json"
    )
    assert response.status_code == 400 and "colour" in response.json()["detail"]
    response = client.post(_url(project), {"endpoint": foreign.pk, "prompt": prompt.pk})
    assert response.status_code == 400 and "No such endpoint" in response.json()["detail"]
    response = client.post(
        _url(project), {"endpoint": judge.pk, "prompt": prompt.pk, "target": "everything"}
    )
    assert response.status_code == 400
    assert client.get(f"{_url(project)}999999/").status_code == 404
    assert not Job.objects.filter(kind="judgement").exists()
    assert PromptVersion.objects.get(pk=prompt.pk).used_at is None


def test_only_project_admins_use_the_judge(api, project, anna, rita, oscar, alice, fake_llm):
    judge = endpoint(project, fake_llm.url)
    items_with_scores(project, [2])
    job = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )
    for user, code in ((anna, 403), (rita, 403), (oscar, 404)):
        assert api(user).get(_url(project)).status_code == code
        assert api(user).post(_url(project), {}, format="json").status_code == code
        assert api(user).get(f"{_url(project)}{job.pk}/").status_code == code
        page = f"/projects/{project.slug}/model/judgements/{job.pk}/"
        client = api(user)
        client.force_login(user)
        assert client.get(page).status_code == code


@pytest.mark.django_db(transaction=True)
def test_a_cancel_stops_a_run_between_items(project, alice, fake_llm: FakeLLM):
    fake_llm.latency = 0.2
    judge = endpoint(project, fake_llm.url, max_concurrency=1)
    items_with_scores(project, [1, 2, 3, 4, 0, 1, 2, 3])
    first = judging.start_judgement(
        project=project, actor=alice, endpoint=judge.pk, prompt=judge_prompt(project).pk
    )  # committed at once here, so it already ran in-process: run its twin in a thread
    job = Job.objects.create(project=project, kind="judgement", params=first.params, total=8)
    fake_llm.calls = 0
    worker = threading.Thread(target=run_judgement_job, args=(job.pk,))
    worker.start()
    deadline = time.monotonic() + 10
    while Job.objects.get(pk=job.pk).progress < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert judging.cancel_judgement(Job.objects.get(pk=job.pk))
    worker.join(timeout=10)
    job.refresh_from_db()
    judged = Judgement.objects.filter(job=job).count()
    assert job.status == JobStatus.CANCELLED and 2 <= judged < 8
    assert job.progress == judged and job.result["judged"] == judged
    assert fake_llm.calls == judged  # nothing was in flight past the cancel
