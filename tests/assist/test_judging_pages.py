"""The judge's section of the Model page: its runs, the form that starts one, and the
same-family refusal shown in place."""

from __future__ import annotations

import pytest

from assist import judging
from assist.models import PromptVersion
from projects.models import Job
from tests.assist.fake_llm import FakeLLM
from tests.assist.judging_helpers import endpoint, generation_run, judge_prompt, sample_of
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _setup(project, url: str, *, judge_family: str = "mistral"):
    drafter = endpoint(project, url, model="gpt-4o-mini", family="openai", name="drafter")
    judge = endpoint(project, url, family=judge_family, name="judge")
    items = [make_item(project, f"Q{n}") for n in range(3)]
    run = generation_run(project, drafter, {i: f"Draft SCORE={n}" for n, i in enumerate(items)})
    return judge, judge_prompt(project), run, sample_of(project, items[:2])


def test_the_model_page_shows_the_judge_form_and_runs(
    client, project, alice, fake_llm: FakeLLM, django_capture_on_commit_callbacks
):
    judge, prompt, run, sample = _setup(project, fake_llm.url)
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/model/").content.decode()
    assert "New judge run" in page and "No judgement runs yet." in page
    assert f'<option value="{run.pk}">Run {run.pk}' in page

    data = {
        "judge-endpoint": judge.pk, "judge-prompt": prompt.pk, "judge-target": "generation",
        "judge-generation": run.pk, "judge-sample": sample.pk,
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/{project.slug}/model/judgements/new/", data)
    job = Job.objects.get(kind="judgement")
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.slug}/model/judgements/{job.pk}/"
    assert job.status == "succeeded" and job.total == 2
    page = client.get(f"/projects/{project.slug}/model/").content.decode()
    assert f"Run {job.pk}</a>" in page and "0.50" in page  # the mean of 0 and 1


def test_a_same_family_judge_is_refused_in_place(client, project, alice, fake_llm: FakeLLM):
    judge, prompt, run, _ = _setup(project, fake_llm.url, judge_family="openai")
    client.force_login(alice)
    data = {
        "judge-endpoint": judge.pk, "judge-prompt": prompt.pk, "judge-target": "generation",
        "judge-generation": run.pk,
    }  # fmt: skip
    url = f"/projects/{project.slug}/model/judgements/new/"
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="judge-section"' in body
    assert "so is the model that drafted these items (gpt-4o-mini" in body
    assert "<html" not in body  # only the section, swapped in place
    assert not Job.objects.filter(kind="judgement").exists()
    response = client.post(url, {**data, "judge-allow_same_family": "on"}, HTTP_HX_REQUEST="true")
    job = Job.objects.get(kind="judgement")
    assert response["HX-Redirect"] == f"/projects/{project.slug}/model/judgements/{job.pk}/"
    assert job.params["allow_same_family"] is True


def test_members_who_are_not_admins_cannot_start_runs(client, project, anna, oscar):
    for user, code in ((anna, 403), (oscar, 404)):
        client.force_login(user)
        assert (
            client.post(f"/projects/{project.slug}/model/judgements/new/", {}).status_code == code
        )
        assert client.get(f"/projects/{project.slug}/model/judgements/").status_code == code
        compare = f"/projects/{project.slug}/model/judgements/compare/"
        assert client.get(compare).status_code == code


def test_the_default_judge_prompt_is_one_click_away(client, project, alice):
    client.force_login(alice)
    url = f"/projects/{project.slug}/model/judgements/default-prompt/"
    first = client.post(url)
    second = client.post(url)
    versions = list(PromptVersion.objects.filter(project=project).order_by("pk"))
    assert [v.name for v in versions] == ["Five-point judge", "Five-point judge 2"]
    assert first["Location"] == f"/projects/{project.slug}/model/prompts/{versions[0].pk}/"
    assert second.status_code == 302
    judge = versions[0]
    assert judge.kind == "judge" and judge.system == judging.DEFAULT_JUDGE_SYSTEM
    assert '"score": <0-4>' in judge.template and "4 = excellent" in judge.template


def test_the_runs_section_costs_the_same_queries_for_more_runs(
    client, project, alice, fake_llm: FakeLLM, django_assert_num_queries
):
    judge, prompt, run, sample = _setup(project, fake_llm.url)
    start = {"project": project, "actor": alice, "endpoint": judge.pk, "prompt": prompt.pk}
    judging.start_judgement(**start, generation=run.pk)
    client.force_login(alice)
    url = f"/projects/{project.slug}/model/judgements/"
    # session, user, project, membership, runs, then the form's choices: endpoints,
    # judge prompts, samples, generation runs
    with django_assert_num_queries(9):
        client.get(url)
    for _ in range(3):
        judging.start_judgement(**start, generation=run.pk, sample=sample.pk)
    with django_assert_num_queries(9):
        page = client.get(url).content.decode()
    assert page.count(f"Generation run {run.pk}<") == 4 and f"sample {sample.pk}" in page
