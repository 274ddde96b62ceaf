"""The Model pages as an admin uses them without JavaScript (and their htmx parts):
endpoints, prompt versions with preview, samples, trials with marks, the versions
grid, runs with cancel; and nobody but admins gets in."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotation.models import Item
from assist.generation import run_generation_job, start_generation
from assist.models import Endpoint, Generation, PromptVersion, Rating, Sample
from assist.prompts import mark_used
from assist.samples import create_sample
from core.models import JobStatus
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def base(project: Any) -> str:
    return f"/projects/{project.slug}/model/"


def endpoint(project: Any, fake: FakeLLM, model: str = "drafter", name: str = "local") -> Endpoint:
    return Endpoint.objects.create(
        project=project, name=name, base_url=fake.url, model=model, family="llama"
    )


def test_only_admins_see_the_model_pages(
    alice: Any, anna: Any, rita: Any, oscar: Any, project: Any
) -> None:
    page = client_for(alice).get(base(project))
    assert page.status_code == 200
    assert b">Model</a>" in page.content and b"Generation runs" in page.content
    for user, code in ((anna, 403), (rita, 403), (oscar, 404)):
        assert client_for(user).get(base(project)).status_code == code
        assert client_for(user).get(base(project) + "endpoints/new/").status_code == code
    # The tab is shown to admins only.
    assert (
        b">Model</a>" not in client_for(anna).get(f"/projects/{project.slug}/guidelines/").content
    )


def test_endpoint_form_saves_refuses_and_never_shows_the_key(
    alice: Any, project: Any, fake_llm: FakeLLM, settings: Any
) -> None:
    client = client_for(alice)
    form = {"name": "local", "base_url": fake_llm.url, "model": "llama3.1:8b", "family": "",
            "api_key": "sk-secret-999", "timeout": "30", "max_concurrency": "4"}  # fmt: skip
    settings.OUTBOUND_ALLOWED_HOSTS = []
    refused = client.post(base(project) + "endpoints/new/", form)
    assert refused.status_code == 400
    assert b"private, loopback or link-local" in refused.content
    assert b"sk-secret-999" not in refused.content
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    saved = client.post(base(project) + "endpoints/new/", form, follow=True)
    assert saved.status_code == 200
    row = Endpoint.objects.get()
    assert row.family == "llama" and row.api_key_encrypted
    assert b"A key is stored" in saved.content and b"sk-secret-999" not in saved.content
    # Clearing the key.
    client.post(
        base(project) + f"endpoints/{row.pk}/", {**form, "api_key": "", "clear_api_key": "on"}
    )
    row.refresh_from_db()
    assert row.api_key_encrypted == ""


def test_the_test_button_shows_the_answer_or_the_error(
    alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    client = client_for(alice)
    ok = endpoint(project, fake_llm)
    shown = client.post(base(project) + f"endpoints/{ok.pk}/test/", HTTP_HX_REQUEST="true")
    assert b"Connected" in shown.content and b"Draft: Reply with" in shown.content
    bad = endpoint(project, fake_llm, model="missing", name="broken")
    shown = client.post(base(project) + f"endpoints/{bad.pk}/test/")
    assert b"has no model" in shown.content and b"<html" in shown.content


def test_prompt_pages_refuse_freeze_prefill_and_preview(alice: Any, project: Any) -> None:
    client = client_for(alice)
    item = make_item(project, "Where is my invoice?")
    bad = client.post(
        base(project) + "prompts/new/", {"name": "v1", "kind": "draft", "template": "{{promt}}"}
    )
    assert bad.status_code == 400 and b"Unknown placeholder {{promt}}" in bad.content
    client.post(
        base(project) + "prompts/new/",
        {"name": "v1", "kind": "draft", "template": "Q: {{prompt}}", "temperature": "0.3"},
    )
    version = PromptVersion.objects.get()
    assert version.params == {"temperature": 0.3}
    mark_used(version)
    page = client.get(base(project) + f"prompts/{version.pk}/")
    assert b"frozen" in page.content and b"disabled" in page.content
    # A frozen version keeps its text whatever the form sends; its labels move.
    client.post(
        base(project) + f"prompts/{version.pk}/",
        {"name": "v1", "kind": "draft", "template": "changed", "labels": "production"},
    )
    version.refresh_from_db()
    assert version.template == "Q: {{prompt}}" and version.labels == ["production"]
    child = client.get(base(project) + f"prompts/new/?from={version.pk}")
    assert b"New version from" in child.content and b"Q: {{prompt}}" in child.content
    assert f'value="{version.pk}"'.encode() in child.content  # the parent
    preview = client.get(
        base(project) + f"prompts/{version.pk}/preview/?item={item.pk}", HTTP_HX_REQUEST="true"
    )
    assert b"Q: Where is my invoice?" in preview.content and b"<html" not in preview.content


def test_try_on_a_sample_mark_and_compare(
    alice: Any, correct_project: Any, fake_llm: FakeLLM, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(alice)
    project = correct_project
    for n in range(8):
        make_item(project, f"Question {n}", draft="imported")
    target = endpoint(project, fake_llm)
    drawn = client.post(base(project) + "samples/new/", {"size": "4", "seed": "9"})
    sample = Sample.objects.get()
    assert drawn.status_code == 302 and drawn["Location"].endswith(f"samples/{sample.pk}/")
    first = PromptVersion.objects.create(project=project, name="plain", template="{{prompt}}")
    second = PromptVersion.objects.create(
        project=project, name="polite", template="Please: {{prompt}}"
    )
    for version in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post(
                base(project) + f"samples/{sample.pk}/",
                {"prompt": version.pk, "endpoint": target.pk},
            )
        assert started.status_code == 302
    page = client.get(started["Location"])
    assert b"Draft: Please: Question" in page.content and b"Good" in page.content
    assert set(Item.objects.values_list("model_draft", flat=True)) == {"imported"}
    draft = Generation.objects.filter(job__params__prompt=second.pk).first()
    assert draft is not None
    marked = client.post(
        base(project) + f"drafts/{draft.pk}/rate/",
        {"verdict": "good", "note": "clear"},
        HTTP_HX_REQUEST="true",
    )
    assert b"Marked good" in marked.content
    assert Rating.objects.get().note == "clear"
    grid = client.get(base(project) + f"samples/{sample.pk}/?part=grid", HTTP_HX_REQUEST="true")
    assert grid.content.count(b"<tr") == 1 + 4  # header and one row per sample item
    same = PromptVersion.objects.create(project=project, name="plain again", template="{{prompt}}")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            base(project) + f"samples/{sample.pk}/", {"prompt": same.pk, "endpoint": target.pk}
        )
    # plain and plain-again agree, polite differs: every row still differs somewhere.
    differing = client.get(
        base(project) + f"samples/{sample.pk}/?diff=1&part=grid", HTTP_HX_REQUEST="true"
    )
    assert differing.content.count(b"<tr") == 5


def test_differences_only_hides_rows_where_all_versions_agree(
    alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    for n in range(3):
        make_item(project, f"Question {n}")
    sample = create_sample(project=project, actor=alice, size=3, seed=1)
    target = endpoint(project, fake_llm)
    for name in ("a", "b"):
        version = PromptVersion.objects.create(project=project, name=name, template="{{prompt}}")
        run_generation_job(
            start_generation(
                project=project, actor=alice, endpoint=target, prompt=version, sample=sample
            ).pk
        )
    client = client_for(alice)
    full = client.get(base(project) + f"samples/{sample.pk}/?part=grid", HTTP_HX_REQUEST="true")
    assert full.content.count(b"<tr") == 4
    only = client.get(
        base(project) + f"samples/{sample.pk}/?diff=1&part=grid", HTTP_HX_REQUEST="true"
    )
    assert (
        only.content.count(b"<tr") == 2 and b"Every version wrote the same drafts" in only.content
    )


def test_sample_page_queries_do_not_grow_with_the_sample(
    alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    for n in range(30):
        make_item(project, f"Question {n}")
    target = endpoint(project, fake_llm)
    version = PromptVersion.objects.create(project=project, name="v", template="{{prompt}}")
    client = client_for(alice)
    counts = []
    for size in (3, 20):
        sample = create_sample(project=project, actor=alice, size=size, seed=size)
        run_generation_job(
            start_generation(
                project=project, actor=alice, endpoint=target, prompt=version, sample=sample
            ).pk
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(base(project) + f"samples/{sample.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_generate_over_items_from_the_page_then_cancel_is_refused_once_done(
    alice: Any, correct_project: Any, fake_llm: FakeLLM, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(alice)
    project = correct_project
    make_item(project, "One question")
    target = endpoint(project, fake_llm)
    version = PromptVersion.objects.create(project=project, name="v", template="{{prompt}}")
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            base(project) + "runs/new/",
            {"prompt": version.pk, "endpoint": target.pk, "state": "queued"},
        )
    run = Job.objects.get(kind="generation")
    assert started["Location"].endswith(f"runs/{run.pk}/")
    page = client.get(started["Location"])
    assert b"Draft: One question" in page.content and b"applied" in page.content.lower()
    assert Item.objects.get().model_draft == "Draft: One question"
    listing = client.get(base(project) + "runs/")
    assert f"Run {run.pk}".encode() in listing.content
    refused = client.post(base(project) + f"runs/{run.pk}/cancel/", follow=True)
    assert b"only a pending or running job can be cancelled" in refused.content


def test_a_pending_run_can_be_cancelled_from_its_page(
    alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    make_item(project, "One")
    version = PromptVersion.objects.create(project=project, name="v", template="{{prompt}}")
    run = start_generation(
        project=project, actor=alice, endpoint=endpoint(project, fake_llm), prompt=version
    )
    page = client_for(alice).get(base(project) + f"runs/{run.pk}/")
    assert b"Cancel</button>" in page.content and b"every 2s" in page.content
    client_for(alice).post(base(project) + f"runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    run_generation_job(run.pk)
    assert fake_llm.calls == 0


def test_foreign_rows_are_not_found(
    alice: Any, oscar: Any, project: Any, other_project: Any, fake_llm: FakeLLM
) -> None:
    theirs = endpoint(other_project, fake_llm)
    client = client_for(alice)
    assert client.get(base(project) + f"endpoints/{theirs.pk}/").status_code == 404
    assert client.post(base(project) + f"endpoints/{theirs.pk}/test/").status_code == 404
    assert fake_llm.calls == 0
