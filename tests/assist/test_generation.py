"""Generation runs against the loopback model server: trials on a sample leave items
alone, runs over items set their model drafts (never under someone's hands), retries
honour Retry-After, failures are per-item errors, a resumed run drafts nothing twice,
concurrency and rate limits hold, and a cancelled run stops."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Assignment, AssignmentStatus, Item
from annotation.states import State
from assist import calls, limits
from assist.generation import run_generation_job, start_generation
from assist.models import Endpoint, Generation, PromptKind, PromptVersion
from assist.samples import create_sample
from core.models import JobStatus
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.factories import make_item
from tests.services import require_redis

pytestmark = pytest.mark.django_db


def endpoint(project: Any, fake: FakeLLM, model: str = "drafter", **fields: Any) -> Endpoint:
    return Endpoint.objects.create(
        project=project, name=f"{model}-{len(fields)}", base_url=fake.url, model=model,
        family="llama", **fields,
    )  # fmt: skip


def prompt(
    project: Any, name: str = "v1", template: str = "{{prompt}}", **fields: Any
) -> PromptVersion:
    return PromptVersion.objects.create(project=project, name=name, template=template, **fields)


def items(project: Any, n: int, **fields: Any) -> list[Item]:
    return [make_item(project, f"Question number {i}", **fields) for i in range(n)]


def run(job: Job) -> Job:
    run_generation_job(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: Any) -> None:
    # Retries without a Retry-After wait 1, 2, 4 s in production; the tests keep the
    # schedule's shape at a hundredth of the time.
    monkeypatch.setattr(calls, "BACKOFF_BASE", 0.01)


def test_a_trial_on_a_sample_keeps_drafts_and_leaves_items_alone(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    all_items = items(correct_project, 12, draft="imported draft")
    sample = create_sample(project=correct_project, actor=alice, size=5, seed=3)
    version = prompt(correct_project, params={"temperature": 0.1, "max_tokens": 50})
    job = start_generation(
        project=correct_project, actor=alice, endpoint=endpoint(correct_project, fake_llm),
        prompt=version, sample=sample,
    )  # fmt: skip
    assert job.params["prompt"] == version.pk and job.params["model"] == "drafter"
    assert job.params["base_url"] == fake_llm.url and job.params["family"] == "llama"
    assert job.params["parameters"] == {"temperature": 0.1, "max_tokens": 50}
    assert job.params["apply"] is False
    version.refresh_from_db()
    assert version.used_at is not None
    job = run(job)
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == job.total == 5
    drafts = Generation.objects.filter(job=job)
    assert sorted(g.item_id for g in drafts) == sorted(sample.item_ids)
    assert all(g.output.startswith("Draft: Question number") and not g.applied for g in drafts)
    assert fake_llm.requests[0]["temperature"] == 0.1 and fake_llm.requests[0]["max_tokens"] == 50
    assert {i.model_draft for i in Item.objects.filter(pk__in=[i.pk for i in all_items])} == {
        "imported draft"
    }
    assert job.result["drafted"] == 5 and job.result["prompt_tokens"] > 0


def test_a_run_over_items_drafts_those_nobody_is_working_on(
    correct_project: Any, alice: Any, anna: Any, fake_llm: FakeLLM
) -> None:
    free = items(correct_project, 4)
    held = make_item(correct_project, "Held question", state=State.IN_PROGRESS)
    Assignment.objects.create(
        item=held,
        user=anna,
        status=AssignmentStatus.ACTIVE,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    approved = make_item(correct_project, "Done question", state=State.APPROVED, draft="old")
    version = prompt(correct_project)
    job = run(
        start_generation(
            project=correct_project,
            actor=alice,
            endpoint=endpoint(correct_project, fake_llm),
            prompt=version,
        )
    )
    assert job.status == JobStatus.SUCCEEDED and job.params["apply"] is True
    for item in free:
        item.refresh_from_db()
        assert item.model_draft == f"Draft: {item.source[0]['content']}"
    held.refresh_from_db()
    approved.refresh_from_db()
    assert held.model_draft == "" and approved.model_draft == "old"
    busy = {e["item"] for e in job.errors if "Someone is working on this item" in e["message"]}
    assert busy == {held.pk, approved.pk}
    applied = Generation.objects.filter(job=job, applied=True)
    assert {g.item_id for g in applied} == {i.pk for i in free}
    assert all(g.prompt_id == version.pk for g in applied)
    assert job.result["applied"] == 4


def test_a_filter_chooses_the_items(correct_project: Any, alice: Any, fake_llm: FakeLLM) -> None:
    billing = items(correct_project, 3, tags=["billing"])
    items(correct_project, 3, tags=["other"])
    job = run(
        start_generation(project=correct_project, actor=alice, endpoint=endpoint(correct_project, fake_llm),
                         prompt=prompt(correct_project), filter={"tag": "billing"})
    )  # fmt: skip
    assert sorted(job.params["items"]) == sorted(i.pk for i in billing)
    assert fake_llm.calls == 3


def test_429_with_retry_after_is_honoured_and_the_run_succeeds(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    item = items(correct_project, 1)[0]
    fake_llm.rate_limited = 2
    started = time.monotonic()
    job = run(start_generation(project=correct_project, actor=alice,
                               endpoint=endpoint(correct_project, fake_llm, "ratelimit"), prompt=prompt(correct_project)))  # fmt: skip
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After: 1
    assert job.status == JobStatus.SUCCEEDED and job.errors == []
    assert fake_llm.calls == 3
    item.refresh_from_db()
    assert item.model_draft.startswith("Draft:")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("error", "had an error (500)"),
        ("malformed", "not a chat completion"),
        ("missing", "no model"),
    ],
)
def test_failures_are_per_item_errors(
    correct_project: Any, alice: Any, fake_llm: FakeLLM, model: str, message: str
) -> None:
    some = items(correct_project, 2)
    job = run(start_generation(project=correct_project, actor=alice,
                               endpoint=endpoint(correct_project, fake_llm, model), prompt=prompt(correct_project)))  # fmt: skip
    assert job.status == JobStatus.SUCCEEDED
    assert {e["item"] for e in job.errors} == {i.pk for i in some}
    assert all(message in e["message"] for e in job.errors)
    assert job.result["failed"] == 2 and job.result["drafted"] == 0
    assert not Item.objects.exclude(model_draft="").exists()


def test_a_resumed_run_never_drafts_an_item_twice(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    all_items = items(correct_project, 10)
    version = prompt(correct_project)
    job = start_generation(
        project=correct_project,
        actor=alice,
        endpoint=endpoint(correct_project, fake_llm),
        prompt=version,
    )
    # A worker drafted the first four and was killed: the job is still "running".
    for item in all_items[:4]:
        Generation.objects.create(
            job=job, prompt=version, item=item, output="earlier", applied=True
        )
        Item.objects.filter(pk=item.pk).update(model_draft="earlier")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=4)
    job = run(job)  # the task delivered again
    assert job.status == JobStatus.SUCCEEDED and job.progress == 10
    assert fake_llm.calls == 6
    assert Generation.objects.filter(job=job).count() == 10
    assert set(
        Item.objects.filter(pk__in=[i.pk for i in all_items[:4]]).values_list(
            "model_draft", flat=True
        )
    ) == {"earlier"}
    run(job)  # and once more after it finished: nothing happens
    assert fake_llm.calls == 6


def test_concurrency_never_exceeds_the_endpoints_maximum(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    items(correct_project, 24)
    fake_llm.latency = 0.05
    job = run(start_generation(project=correct_project, actor=alice,
                               endpoint=endpoint(correct_project, fake_llm, max_concurrency=3), prompt=prompt(correct_project)))  # fmt: skip
    assert job.result["drafted"] == 24
    assert 2 <= fake_llm.max_in_flight <= 3


@pytest.mark.parametrize("redis", [False, True])
def test_requests_per_minute_hold(
    correct_project: Any, fake_llm: FakeLLM, monkeypatch: Any, settings: Any, redis: bool
) -> None:
    settings.REDIS_URL = require_redis() if redis else ""
    # A two-second "minute" keeps the test short; the rule is the same.
    monkeypatch.setattr(limits, "WINDOW", 2.0)
    hello = [{"role": "user", "content": "hi"}]
    calls.call_model(endpoint(correct_project, fake_llm), hello)  # the client, warmed up
    target = endpoint(correct_project, fake_llm, max_concurrency=8, rpm=4)
    threads = [threading.Thread(target=calls.call_model, args=(target, hello)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = sorted(fake_llm.call_times[1:])
    assert len(times) == 10
    for i, at in enumerate(times):
        # Measured where the server receives them.
        assert sum(1 for other in times[i:] if other - at < 2.0) <= 4


def test_tokens_per_minute_hold(correct_project: Any, fake_llm: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.setattr(limits, "WINDOW", 1.0)
    target = endpoint(correct_project, fake_llm, max_concurrency=8, tpm=600)
    params = {"max_tokens": 250}  # each call is estimated at about 250 tokens: two a minute
    started = time.monotonic()
    for _ in range(4):
        calls.call_model(target, [{"role": "user", "content": "hi"}], params)
    assert time.monotonic() - started >= 0.9


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_stops_at_the_next_item(
    api: Any, correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    items(correct_project, 40)
    fake_llm.latency = 0.1
    answers: list[Any] = []

    def cancel_soon() -> None:
        # Outside a test transaction the run starts in-process as soon as it is queued.
        while not fake_llm.calls:
            time.sleep(0.02)
        time.sleep(0.4)
        job_id = Job.objects.get(kind="generation").pk
        answers.append(api(alice).post(f"/api/v1/jobs/{job_id}/cancel/"))

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    job = start_generation(project=correct_project, actor=alice,
                           endpoint=endpoint(correct_project, fake_llm, max_concurrency=2), prompt=prompt(correct_project))  # fmt: skip
    canceller.join()
    job.refresh_from_db()
    assert answers[0].status_code == 200, answers[0].json()
    assert job.status == JobStatus.CANCELLED
    assert 0 < fake_llm.calls < 40
    assert Generation.objects.filter(job=job).count() == job.progress


def test_cost_is_counted_from_the_endpoints_prices(
    correct_project: Any, alice: Any, fake_llm: FakeLLM
) -> None:
    items(correct_project, 3)
    target = endpoint(correct_project, fake_llm, price_input="2.5", price_output="10")
    job = run(
        start_generation(
            project=correct_project, actor=alice, endpoint=target, prompt=prompt(correct_project)
        )
    )
    expected = (job.result["prompt_tokens"] * 2.5 + job.result["completion_tokens"] * 10) / 1e6
    assert job.result["cost"] == pytest.approx(expected)


# -- the API ------------------------------------------------------------------------


def gurl(project: Any) -> str:
    return f"/api/v1/projects/{project.pk}/generations/"


def test_the_api_starts_a_run_and_the_job_shows_it(
    api: Any,
    correct_project: Any,
    alice: Any,
    fake_llm: FakeLLM,
    django_capture_on_commit_callbacks: Any,
) -> None:
    items(correct_project, 3)
    target, version = endpoint(correct_project, fake_llm), prompt(correct_project)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(alice).post(
            gurl(correct_project), {"endpoint": target.pk, "prompt": version.pk}, format="json"
        )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    status = api(alice).get(f"/api/v1/jobs/{job_id}/").json()
    assert status["kind"] == "generation" and status["status"] == "succeeded"
    assert status["progress"] == 3 and status["result"]["drafted"] == 3
    detail = api(alice).get(f"{gurl(correct_project)}{job_id}/").json()
    assert detail["params"]["prompt"] == version.pk and len(detail["generations"]) == 3
    assert api(alice).post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 400


def test_bad_runs_are_refused(
    api: Any, correct_project: Any, alice: Any, oscar: Any, other_project: Any, fake_llm: FakeLLM
) -> None:
    items(correct_project, 2)
    target, version = endpoint(correct_project, fake_llm), prompt(correct_project)
    judge = prompt(correct_project, "judge", kind=PromptKind.JUDGE)
    foreign = endpoint(other_project, fake_llm)
    sample = create_sample(project=correct_project, actor=alice, size=1)
    cases = [
        ({"endpoint": foreign.pk, "prompt": version.pk}, "Choose one of this project's endpoints"),
        ({"endpoint": target.pk, "prompt": judge.pk}, "drafts need a draft prompt"),
        (
            {
                "endpoint": target.pk,
                "prompt": version.pk,
                "sample": sample.pk,
                "filter": {"tag": "x"},
            },
            "not both",
        ),
        (
            {"endpoint": target.pk, "prompt": version.pk, "filter": {"tag": "absent"}},
            "No items to draft",
        ),
        ({"endpoint": target.pk}, "prompt"),
        ({"endpoint": target.pk, "prompt": version.pk, "when": "now"}, "Unknown field(s): when"),
    ]
    for body, message in cases:
        response = api(alice).post(gurl(correct_project), body, format="json")
        assert response.status_code == 400, body
        assert message in response.json()["detail"], (body, response.json())
    assert not Job.objects.filter(kind="generation").exists()
    assert fake_llm.calls == 0


def test_runs_are_for_admins_only(
    api: Any, project: Any, anna: Any, rita: Any, oscar: Any, fake_llm: FakeLLM
) -> None:
    target, version = endpoint(project, fake_llm), prompt(project)
    body = {"endpoint": target.pk, "prompt": version.pk}
    assert api(anna).post(gurl(project), body, format="json").status_code == 403
    assert api(rita).get(gurl(project)).status_code == 403
    assert api(oscar).post(gurl(project), body, format="json").status_code == 404
