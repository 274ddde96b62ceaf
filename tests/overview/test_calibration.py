"""Judge calibration of a project: the judge's scores (judge check results and judge runs
over human answers) against reviewer decisions, rubric scores and gold, per judge prompt
version, through the API and on the page; admins only, in a fixed number of queries.

``pytest -s tests/overview/test_calibration.py -k table`` prints the table."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotation.models import Item, Revision
from annotation.states import State
from assist.models import Judgement, PromptKind, PromptVersion
from checks.models import CheckResult
from overview.calibration import calibration, markdown
from projects.models import Job, Project
from reviews.models import GoldScore, Review
from tests.factories import make_item

pytestmark = pytest.mark.django_db

# (judge score, reviewer decision, how many answers): 40 reviewed answers on which the
# judge mostly agrees with the reviewers.
DECISIONS = [
    (4, "approve", 14),
    (3, "approve", 8),
    (2, "approve", 2),
    (1, "approve", 1),
    (0, "reject", 6),
    (1, "reject", 5),
    (2, "reject", 2),
    (3, "reject", 2),
]


def judge_prompt(project: Project, name: str = "judge-v1") -> PromptVersion:
    return PromptVersion.objects.create(
        project=project, name=name, kind=PromptKind.JUDGE, template="Rate: {{answer}}"
    )


def answer(project: Project, author: Any, n: int) -> Revision:
    item = make_item(
        project, f"Question {n}?", answer=f"Answer {n}.", author=author, state=State.APPROVED
    )
    assert item.current_revision is not None
    return item.current_revision


def judge_check(revision: Revision, prompt: PromptVersion, score: int | None) -> None:
    CheckResult.objects.create(
        revision=revision,
        name="judge",
        outcome="pass" if score is None or score >= 2 else "warn",
        details={"score": score, "reason": "Because.", "prompt": prompt.pk, "endpoint": 1},
    )


def review(revision: Revision, reviewer: Any, decision: str, **scores: int) -> Review:
    return Review.objects.create(
        item_id=revision.item_id,
        revision=revision,
        stage=0,
        reviewer=reviewer,
        decision=decision,
        scores=scores,
    )


def reviewed_by_judge_and_people(
    project: Project, anna: Any, rita: Any, name: str = "judge-v1"
) -> PromptVersion:
    """The 40 answers of ``DECISIONS``, plus what calibration must leave out: two invalid
    judge answers on reviewed answers, a judged answer nobody reviewed, and an answer
    the reviewer edited (an edit is not an approve or a reject)."""
    prompt = judge_prompt(project, name)
    n = 100
    for score, decision, count in DECISIONS:
        for _ in range(count):
            n += 1
            revision = answer(project, anna, n)
            judge_check(revision, prompt, score)
            review(revision, rita, decision)
    for extra in ("invalid", "invalid", "unreviewed", "edited"):
        n += 1
        revision = answer(project, anna, n)
        judge_check(revision, prompt, None if extra == "invalid" else 4)
        if extra != "unreviewed":
            review(revision, rita, "edit" if extra == "edited" else "approve")
    return prompt


def test_calibration_table_against_reviewer_decisions(project, anna, rita, api, alice) -> None:
    prompt = reviewed_by_judge_and_people(project, anna, rita)
    response = api(alice).get(f"/api/v1/projects/{project.pk}/calibration/")
    assert response.status_code == 200
    body = response.json()
    assert body["min_pairs"] == 20
    [version] = body["versions"]
    assert version["prompt"] == {"id": prompt.pk, "name": "judge-v1"}
    assert (version["judged"], version["invalid"]) == (44, 2)
    decision = version["signals"]["decision"]
    # Judge read as approve at 2 or more: 24 approve/approve + 11 reject/reject of 40.
    # p_o = 35/40 = 0.875; judge approves 28 of 40, reviewers 25 of 40:
    # p_e = 0.7·0.625 + 0.3·0.375 = 0.55; κ = (0.875 - 0.55) / 0.45 = 0.7222.
    # τ-b over the five scores: (342 - 8) / √(608 · 375) = 0.6995.
    assert decision["n"] == 40
    assert decision["invalid"] == 2
    assert decision["enough"] is True
    assert decision["agreement"] == 0.875
    assert decision["kappa"] == pytest.approx(0.722, abs=1e-9)
    assert decision["kappa_weights"] == "none"
    assert decision["tau_b"] == pytest.approx(0.699, abs=1e-9)
    assert decision["columns"] == ["reject", "approve"]
    assert decision["matrix"] == [[6, 0], [5, 1], [2, 2], [2, 8], [0, 14]]
    # Nobody scored a rubric or a gold answer here.
    for signal in ("rubric", "gold"):
        assert version["signals"][signal]["n"] == 0
        assert version["signals"][signal]["enough"] is False
        assert version["signals"][signal]["kappa"] is None

    table = markdown(body)
    print("\n" + table)
    assert "| judge-v1 | decision | 40 | 2 | 0.875 | 0.722 | none | 0.699 |" in table
    assert "| judge-v1 | rubric | 0 | 0 | not enough data (< 20) |" in table
    assert "| 4 | 0 | 14 |" in table


def test_judge_runs_rubric_and_gold_per_prompt_version(project, anna, rita, api, alice) -> None:
    """A judge run over human answers (``Judgement`` rows) and the judge check are two
    sources of scores for two prompt versions; rubric means and gold similarity are put
    on the judge's scale."""
    v1, v2 = judge_prompt(project, "judge-v1"), judge_prompt(project, "judge-v2")
    job = Job.objects.create(project=project, kind="judgement")
    for n in range(24):
        revision = answer(project, anna, n)
        human = n % 5  # rubric mean n % 5 + 1 → bucket n % 5
        review(revision, rita, "approve", accuracy=human + 1, clarity=human + 1)
        GoldScore.objects.create(
            item_id=revision.item_id, revision=revision, similarity=human / 5 + 0.1
        )
        # v1 agrees exactly; v2 is one point high (capped at 4) and invalid twice.
        Judgement.objects.create(job=job, prompt=v1, item_id=revision.item_id,
                                 revision=revision, score=human)  # fmt: skip
        judge_check(revision, v2, None if n in (0, 1) else min(4, human + 1))
    body = api(alice).get(f"/api/v1/projects/{project.pk}/calibration/").json()
    versions = {v["prompt"]["name"]: v for v in body["versions"]}
    assert set(versions) == {"judge-v1", "judge-v2"}
    for signal in ("rubric", "gold"):
        exact = versions["judge-v1"]["signals"][signal]
        assert (exact["n"], exact["agreement"], exact["kappa"], exact["tau_b"]) == (24, 1, 1, 1)
        assert exact["kappa_weights"] == "quadratic"
        assert [row[i] for i, row in enumerate(exact["matrix"])] == [5, 5, 5, 5, 4]
        off = versions["judge-v2"]["signals"][signal]
        assert (off["n"], off["invalid"]) == (22, 2)
        assert off["agreement"] < 0.3
        assert 0.5 < off["kappa"] < 1  # one point off costs little with quadratic weights
    assert versions["judge-v2"]["invalid"] == 2
    # Reviewers approved every answer: no agreement beyond chance, and no ranking to match.
    decision = versions["judge-v1"]["signals"]["decision"]
    assert (decision["n"], decision["kappa"], decision["tau_b"]) == (24, 0.0, None)


def test_latest_verdict_counts_and_foreign_prompts_are_ignored(
    project, other_project, anna, rita, api, alice
) -> None:
    prompt = judge_prompt(project)
    foreign = judge_prompt(other_project, "theirs")
    job = Job.objects.create(project=project, kind="judgement")
    revision = answer(project, anna, 1)
    review(revision, rita, "reject")
    Judgement.objects.create(job=job, prompt=prompt, item_id=revision.item_id,
                             revision=revision, score=4)  # fmt: skip
    judge_check(revision, prompt, 0)  # re-judged later: this one counts
    judge_check(answer(project, anna, 2), foreign, 3)
    body = api(alice).get(f"/api/v1/projects/{project.pk}/calibration/").json()
    [version] = body["versions"]
    assert version["prompt"]["name"] == "judge-v1"
    assert version["signals"]["decision"]["matrix"][0] == [1, 0]
    assert version["judged"] == 1


def test_too_few_answers_say_not_enough_data(project, anna, rita, api, alice) -> None:
    prompt = judge_prompt(project)
    for n, (score, decision) in enumerate([(4, "approve"), (0, "reject"), (3, "approve")]):
        revision = answer(project, anna, n)
        judge_check(revision, prompt, score)
        review(revision, rita, decision)
    decision_figures = calibration(project)["versions"][0]["signals"]["decision"]
    assert decision_figures["n"] == 3
    assert decision_figures["enough"] is False
    for figure in ("agreement", "kappa", "tau_b"):
        assert decision_figures[figure] is None
    client = Client()
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/calibration/").content.decode()
    assert "Not enough data: 3 answers with both verdicts, at least 20 needed." in page
    assert "0.6\u20130.8 substantial" in page


def test_calibration_page_shows_figures_and_the_confusion_matrix(
    project, anna, rita, alice
) -> None:
    reviewed_by_judge_and_people(project, anna, rita)
    PromptVersion.objects.filter(project=project).update(name="judge <b>v1</b>")
    client = Client()
    client.force_login(alice)
    response = client.get(f"/projects/{project.slug}/calibration/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "judge &lt;b&gt;v1&lt;/b&gt;" in page  # names are escaped
    assert "87.5 %" in page
    assert "0.722" in page and "substantial" in page
    assert "0.699" in page
    assert "2 invalid judge answers (left out)" in page
    assert '<tr><th scope="row">4</th><td>0</td><td>14</td></tr>' in page
    policy = client.get(f"/projects/{project.slug}/review-policy/").content.decode()
    assert f'href="/projects/{project.slug}/calibration/"' in policy


def test_calibration_page_queries_do_not_grow_with_the_project(project, anna, rita, alice) -> None:
    client = Client()
    client.force_login(alice)
    url = f"/projects/{project.slug}/calibration/"
    judge_prompt(project, "judge-small")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    reviewed_by_judge_and_people(project, anna, rita)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)


def test_without_a_judge_the_page_says_how_to_start(project, alice) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/calibration/").content.decode()
    assert "No judge prompt version yet" in page


def test_only_project_admins_see_calibration(
    project, other_project, anna, rita, oscar, alice, api
) -> None:
    url = f"/api/v1/projects/{project.pk}/calibration/"
    assert api(rita).get(url).status_code == 403
    assert api(anna).get(url).status_code == 403
    assert api(oscar).get(url).status_code == 404
    assert api(alice).get(f"/api/v1/projects/{other_project.pk}/calibration/").status_code == 404
    assert Client().get(url).status_code in (401, 403)
    for user, status in [(rita, 403), (oscar, 404)]:
        client = Client()
        client.force_login(user)
        assert client.get(f"/projects/{project.slug}/calibration/").status_code == status


def _calibration_queries(project: Project, alice: Any, api: Any, capture: Any) -> int:
    with capture() as queries:
        assert api(alice).get(f"/api/v1/projects/{project.pk}/calibration/").status_code == 200
    return len(queries)


def test_calibration_runs_a_fixed_number_of_queries(
    project, anna, rita, alice, api, django_assert_num_queries
) -> None:
    prompt = judge_prompt(project)
    for n in range(3):
        revision = answer(project, anna, n)
        judge_check(revision, prompt, 3)
        review(revision, rita, "approve", accuracy=4)
    # access (user's membership, project), prompt versions, judge runs, judge check
    # results, reviews, gold scores
    with django_assert_num_queries(7):
        api(alice).get(f"/api/v1/projects/{project.pk}/calibration/")
    reviewed_by_judge_and_people(project, anna, rita, "judge-v2")
    judge_prompt(project, "judge-v3")
    assert Item.objects.filter(project=project).count() == 47
    with django_assert_num_queries(7):
        api(alice).get(f"/api/v1/projects/{project.pk}/calibration/")
