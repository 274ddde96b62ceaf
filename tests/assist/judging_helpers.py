"""Rows the judge's tests build directly: endpoints on the loopback server, a judge
prompt, a sample, and a finished generation run whose outputs carry SCORE=k markers."""

from __future__ import annotations

from typing import Any

from annotation.models import Item
from assist import judging
from assist.models import Endpoint, Generation, PromptKind, PromptVersion, Sample
from core.models import JobStatus
from projects.models import Job, Project
from tests.factories import make_item


def endpoint(project: Project, url: str, *, model: str = "judge", family: str = "mistral",
             name: str = "", **fields: Any) -> Endpoint:  # fmt: skip
    return Endpoint.objects.create(
        project=project, name=name or f"{model}-{family}", base_url=url, model=model,
        family=family, **fields,
    )  # fmt: skip


def judge_prompt(project: Project, name: str = "judge v1") -> PromptVersion:
    return PromptVersion.objects.create(
        project=project,
        name=name,
        kind=PromptKind.JUDGE,
        system=judging.DEFAULT_JUDGE_SYSTEM,
        template=judging.DEFAULT_JUDGE_TEMPLATE,
    )


def draft_prompt(project: Project, name: str = "draft v1") -> PromptVersion:
    return PromptVersion.objects.create(
        project=project, name=name, kind=PromptKind.DRAFT, template="Answer: {{prompt}}"
    )


def generation_run(
    project: Project, drafter: Endpoint, outputs: dict[Item, str], *, prompt: PromptVersion | None = None,
    applied: bool = False,
) -> Job:  # fmt: skip
    """A finished generation run that wrote ``outputs`` (item → text) with ``drafter``."""
    version = prompt or draft_prompt(project, f"draft {Job.objects.count() + 1}")
    job = Job.objects.create(
        project=project,
        kind="generation",
        status=JobStatus.SUCCEEDED,
        total=len(outputs),
        progress=len(outputs),
        params={
            "prompt": version.pk, "prompt_name": version.name, "endpoint": drafter.pk,
            "model": drafter.model, "family": drafter.family, "items": [i.pk for i in outputs],
        },
    )  # fmt: skip
    for item, text in outputs.items():
        Generation.objects.create(job=job, prompt=version, item=item, output=text, applied=applied)
        if applied:
            Item.objects.filter(pk=item.pk).update(model_draft=text)
    return job


def items_with_scores(project: Project, scores: list[int], **fields: Any) -> list[Item]:
    """One item per score, its answer carrying ``SCORE=k`` for the test judge."""
    return [
        make_item(project, f"Question {n}?", answer=f"Answer {n}. SCORE={k}", **fields)
        for n, k in enumerate(scores)
    ]


def sample_of(project: Project, items: list[Item]) -> Sample:
    return Sample.objects.create(
        project=project, name="sample", size=len(items), seed=7, item_ids=[i.pk for i in items]
    )
