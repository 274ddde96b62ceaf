"""The judge as one of the automated checks on human submissions.

Off until an admin picks a judge endpoint and prompt on the Checks page; a warning by
default, blocking below ``threshold`` when the admin sets the severity to block. It
never runs while the annotator types (a model call is not cheap): only in the worker's
check task, where the context carries the project and item ids. The result's details
are ``{"score", "reason", "prompt", "endpoint"}``: review routing and calibration read
them. An unreachable judge, or an answer that cannot be read, is a warning saying so,
whatever the severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from annotation.models import Item
from assist import judging, prompting
from assist.calls import call_model
from assist.client import ModelError
from assist.models import Endpoint, Judgement, PromptKind, PromptVersion
from checks.models import CheckResult
from checks.registry import REGISTRY, Check, CheckContext, Option, Verdict
from checks.registry.base import Messages, contents, last_response

NAME = "judge"
ATTEMPTS = 2  # a submission waits for its checks: retry once, then warn
NOT_IN_WORKER = "The judge runs only in the background check of a submission."
NOT_CONFIGURED = (
    "The judge check is not set up: choose a judge endpoint and a judge prompt of this project."
)
UNREACHABLE = "The judge could not be reached, so this answer has no judge score: {error}"
UNREADABLE = "The judge's answer could not be read, so this answer has no judge score."
NO_ANSWER = "There is no answer for the judge to score."
BELOW = "The judge scored this answer {score} ({label}), below {threshold}: {reason}"
SCORED = "The judge scored this answer {score} ({label}): {reason}"


def _undecided(message: str, prompt: int, endpoint: int) -> Verdict:
    details = {"score": None, "reason": "", "prompt": prompt, "endpoint": endpoint}
    return Verdict(True, message, details, undecided=True)


def _values(item: Item | None, messages: Messages, answer: str) -> dict[str, str]:
    if item is not None:
        return prompting.item_context(item, answer=answer)
    users = contents(messages, "user")
    return {"prompt": users[-1] if users else "", "answer": answer}


def _configured(
    project_id: int, options: Mapping[str, Any]
) -> tuple[Endpoint, PromptVersion] | None:
    endpoint = Endpoint.objects.filter(
        pk=int(options.get("endpoint") or 0), project_id=project_id
    ).first()
    prompt = PromptVersion.objects.filter(
        pk=int(options.get("prompt") or 0), project_id=project_id, kind=PromptKind.JUDGE
    ).first()
    if endpoint is None or prompt is None:
        return None
    return endpoint, prompt


def check_judge(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The judge's score of the answer: a problem below ``threshold``."""
    prompt_id, endpoint_id = int(options.get("prompt") or 0), int(options.get("endpoint") or 0)
    if context.project_id is None:
        return _undecided(NOT_IN_WORKER, prompt_id, endpoint_id)
    found = _configured(context.project_id, options)
    if found is None:
        return _undecided(NOT_CONFIGURED, prompt_id, endpoint_id)
    endpoint, prompt = found
    answer = last_response(messages)
    if not answer.strip():
        return _undecided(NO_ANSWER, prompt_id, endpoint_id)
    item = Item.objects.filter(pk=context.item_id or 0, project_id=context.project_id).first()
    sent = prompting.chat_messages(prompt.system, prompt.template, _values(item, messages, answer))
    PromptVersion.objects.filter(pk=prompt.pk, used_at__isnull=True).update(used_at=timezone.now())
    try:
        completion = call_model(
            endpoint, sent, judging.call_params(prompt, endpoint), attempts=ATTEMPTS
        )
    except ModelError as error:
        return _undecided(UNREACHABLE.format(error=error.message), prompt_id, endpoint_id)
    parsed = judging.parse_judgement(completion.text)
    if parsed.score is None:
        return _undecided(UNREADABLE, prompt_id, endpoint_id)
    details = {
        "score": parsed.score,
        "reason": parsed.reason,
        "prompt": prompt.pk,
        "endpoint": endpoint.pk,
    }
    threshold = int(options.get("threshold", 2))
    words = {
        "score": parsed.score,
        "label": judging.LABELS[parsed.score],
        "threshold": threshold,
        "reason": parsed.reason or "no reason given",
    }
    if parsed.score < threshold:
        return Verdict.problem(BELOW.format(**words), **details)
    return Verdict.ok(SCORED.format(**words), **details)


JUDGE_CHECK = Check(
    NAME,
    1,
    "LLM judge",
    "A judge model scores the answer from 0 (very bad) to 4 (excellent) with a reason; "
    "answers scored below the threshold are flagged. Runs in the background only.",
    check_judge,
    default_severity="warn",
    needs_config=True,
    cheap=False,
    options=(
        Option("endpoint", "int", 0, "Id of the judge's endpoint (see the Model page).", minimum=0),
        Option("prompt", "int", 0, "Id of a judge prompt version (see the Model page).", minimum=0),
        Option("threshold", "int", 2, "Flag answers scored below this (0 to 4).", minimum=0, maximum=4),
    ),
)  # fmt: skip


def register() -> None:
    """Make the judge one of the project's checks (once per process)."""
    REGISTRY.setdefault(NAME, JUDGE_CHECK)


def judge_means(project: Any, group: str, revision_ids: list[int]) -> dict[str, Any]:
    """The judge's mean score over these answers (the anchoring comparison's extra
    column): from the judge check's results and from judgement runs over answers."""
    scores: dict[int, int] = {}
    for revision_id, details in (
        CheckResult.objects.filter(revision_id__in=revision_ids, name=NAME)
        .order_by("id")
        .values_list("revision_id", "details")
    ):
        score = (details or {}).get("score")
        if isinstance(score, int):
            scores[revision_id] = score
    for revision_id, score in (
        Judgement.objects.filter(revision_id__in=revision_ids, score__isnull=False)
        .exclude(revision_id__in=list(scores))
        .order_by("id")
        .values_list("revision_id", "score")
    ):
        if revision_id is not None and score is not None:
            scores[revision_id] = score
    values = list(scores.values())
    return {"judged": len(values), "judge_mean": sum(values) / len(values) if values else None}
