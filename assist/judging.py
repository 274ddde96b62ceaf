"""The judge: a model from another family rating answers or drafts 0 to 4 with a reason.

A judgement run rates the current answers, the model drafts, or one generation run's
outputs of a sample (or of the items matching a filter). It is refused when the judge
comes from the family of the model that drafted those items, unless the admin
overrides it; the override is stored on the run and shown on every report. Each item
gets one ``Judgement`` row, so a run resumed after a crash never judges an item twice.
An answer the judge gave that cannot be read is kept as raw text with no score
("invalid"), never counted as a score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from annotation.models import Item
from assist import prompting, samples
from assist.families import same_family
from assist.models import Endpoint, Generation, PromptKind, PromptVersion, Sample
from core.enqueue import enqueue
from core.models import JobStatus, move_job
from projects.models import Job, Project

KIND = "judgement"
RUN_TASK = "assist.run_judgement"

LABELS = ("very bad", "bad", "moderate", "good", "excellent")  # scores 0 … 4
DEFAULT_JUDGE_SYSTEM = (
    "You are a careful, impartial grader of assistant answers. You judge whether the "
    "answer is correct, helpful, complete and well written for the request it answers. "
    "You never reward length for its own sake."
)
DEFAULT_JUDGE_TEMPLATE = """Rate the answer below on this five-point scale:
0 = very bad: wrong, harmful, or does not answer the request
1 = bad: mostly wrong or unhelpful
2 = moderate: partly right, with clear gaps or errors
3 = good: right and helpful, with minor flaws
4 = excellent: right, complete and clear; nothing to improve

Request:
{{prompt}}

Reference answer (may be empty):
{{reference}}

Answer to rate:
{{answer}}

Reply with JSON only: {"score": <0-4>, "reason": "<one or two sentences>"}"""

# Sent as ``response_format`` to endpoints that support structured output.
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "judgement",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "score": {"type": "integer", "minimum": 0, "maximum": 4},
                "reason": {"type": "string"},
            },
            "required": ["score", "reason"],
            "additionalProperties": False,
        },
    },
}
# The prompt parameters a call passes on; anything else in a version's params stays put.
CALL_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "stop")

TARGETS = ("answers", "drafts", "generation")
NO_ENDPOINT = "No such endpoint in this project."
NO_PROMPT = "No such prompt version in this project."
NOT_JUDGE = "“{name}” is a {kind} prompt; a judgement run needs a judge prompt."
NO_SAMPLE = "No such sample in this project."
NO_GENERATION = "No such generation run in this project."
BAD_TARGET = "Target must be “answers”, “drafts” or “generation” (with a generation run id)."
NEEDS_GENERATION = "Choose the generation run whose outputs to judge."
SAMPLE_AND_FILTER = "Choose a sample or a filter, not both."
NOTHING_TO_JUDGE = "None of the chosen items has {what} to judge."
SAME_FAMILY = (
    "The judge {judge} is of the family “{family}”, and so is the model that drafted "
    "these items ({drafters}, family “{drafting}”): a judge tends to favour its own "
    "family. Choose a judge endpoint of another family, or tick “allow same family” to "
    "run it anyway (every report will say so)."
)
OVERRIDE_NOTE = "Same-family override: the judge and the drafting model are both {family}."
WHAT = {"answers": "an answer", "drafts": "a model draft", "generation": "an output of that run"}


# -- reading the judge's answer ---------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    score: int | None  # None: the answer could not be read ("invalid")
    reason: str


FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
OBJECT = re.compile(r"\{.*\}", re.DOTALL)
SCORE_LINE = re.compile(r"\bscore\**\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)\b", re.IGNORECASE)


def _score_of(value: Any) -> int | None:
    """A score 0 to 4 from a JSON value (a number, a digit string or a label)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower().rstrip(".")
        if text in LABELS:
            return LABELS.index(text)
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, int | float) and float(value).is_integer() and 0 <= value <= 4:
        return int(value)
    return None


def _from_json(text: str) -> Parsed | None:
    candidates = [m.group(1) for m in FENCE.finditer(text)] + [text]
    found = OBJECT.search(text)
    if found:
        candidates.append(found.group(0))
    for candidate in candidates:
        try:
            data = json.loads(candidate.strip())
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict) and "score" in data:
            reason = data.get("reason", "")
            return Parsed(_score_of(data["score"]), str(reason) if reason is not None else "")
    return None


def _from_label(text: str) -> Parsed | None:
    first, _, rest = text.strip().partition("\n")
    word = first.strip().strip("*\"'`.!:").strip().lower()
    if word in LABELS:
        return Parsed(LABELS.index(word), rest.strip())
    return None


def parse_judgement(text: str) -> Parsed:
    """The score and reason in a judge's answer: JSON ``{"score", "reason"}`` (also in a
    ```json fence or among other text), a bare label ("good"), or "Score: 3". Anything
    else, or a number outside 0 to 4, is invalid: ``score`` None."""
    text = text or ""
    parsed = _from_json(text) or _from_label(text)
    if parsed is not None:
        return parsed
    line = SCORE_LINE.search(text)
    if line:
        rest = (text[: line.start()] + text[line.end() :]).strip().lstrip("*.:- \n")
        return Parsed(_score_of(line.group(1)), rest)
    return Parsed(None, "")


# -- what a call sends ------------------------------------------------------------------


def call_params(prompt: PromptVersion, endpoint: Endpoint) -> dict[str, Any]:
    """The parameters a judge call sends: the version's own (``seed`` only where the
    endpoint supports it), and the JSON schema where the endpoint supports one."""
    own = prompt.params if isinstance(prompt.params, Mapping) else {}
    params = {k: own[k] for k in CALL_PARAMS if k in own and own[k] not in (None, "")}
    if not endpoint.supports_seed:
        params.pop("seed", None)
    if endpoint.supports_json_schema:
        params["response_format"] = RESPONSE_FORMAT
    return params


def judge_messages(prompt: PromptVersion, item: Item, text: str) -> list[dict[str, str]]:
    """The messages that ask the judge to rate ``text`` as the answer to ``item``."""
    values = prompting.item_context(item, answer=text)
    return prompting.chat_messages(prompt.system, prompt.template, values)


def cost(prompt_tokens: int, completion_tokens: int, params: Mapping[str, Any]) -> float | None:
    """The price of these tokens at the run's prices per million, or None without prices."""
    price_in, price_out = params.get("price_input"), params.get("price_output")
    if price_in in (None, "") and price_out in (None, ""):
        return None
    total = Decimal(str(price_in or 0)) * prompt_tokens + Decimal(str(price_out or 0)) * (
        completion_tokens
    )
    return float(round(total / Decimal(1_000_000), 6))


# -- starting a run ---------------------------------------------------------------------


def _in_project(model: Any, project: Project, pk: Any, message: str, field: str) -> Any:
    try:
        found = model.objects.filter(project=project, pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ValidationError({field: message})
    return found


def generation_job(project: Project, pk: Any) -> Job:
    try:
        job = Job.objects.filter(project=project, kind="generation", pk=int(pk)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise ValidationError({"generation": NO_GENERATION})
    return job


def run_family(job: Job) -> tuple[str, str]:
    """(family, model) of the endpoint a generation run drafted with, as it recorded them."""
    params = job.params if isinstance(job.params, Mapping) else {}
    family, model = str(params.get("family") or ""), str(params.get("model") or "")
    if not family and params.get("endpoint"):
        endpoint = Endpoint.objects.filter(pk=params["endpoint"]).first()
        if endpoint is not None:
            family, model = endpoint.family, model or endpoint.model
    return family, model


def drafting_families(target: str, item_ids: list[int], generation: Job | None) -> dict[str, str]:
    """{family: model} of the models that drafted what is judged: the generation run's
    endpoint, or the runs whose applied drafts the items carry."""
    if generation is not None:
        family, model = run_family(generation)
        return {family: model} if family else {}
    job_ids = (
        Generation.objects.filter(item_id__in=item_ids, applied=True)
        .values_list("job_id", flat=True)
        .distinct()
    )
    found: dict[str, str] = {}
    for job in Job.objects.filter(pk__in=list(job_ids)).order_by("pk"):
        family, model = run_family(job)
        if family:
            found.setdefault(family, model)
    return found


def _chosen(
    project: Project,
    target: str,
    sample: Sample | None,
    spec: dict[str, Any],
    generation: Job | None,
) -> list[int]:
    if sample is not None:
        items = Item.objects.filter(project=project, pk__in=[int(i) for i in sample.item_ids or []])
    else:
        items = samples.matching_items(project, spec)
    if target == "answers":
        items = items.filter(current_revision__isnull=False)
    elif target == "drafts":
        items = items.exclude(model_draft="")
    else:
        assert generation is not None
        produced = Generation.objects.filter(job=generation, error="").exclude(output="")
        items = items.filter(pk__in=produced.values("item_id"))
    return list(items.order_by("pk").values_list("pk", flat=True))


def start_judgement(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    endpoint: Any,
    prompt: Any,
    sample: Any = None,
    filter: Any = None,
    target: str = "answers",
    generation: Any = None,
    allow_same_family: bool = False,
) -> Job:
    """Queue a judgement run; raises ValidationError (nothing created) when an id is not
    the project's, the prompt is not a judge prompt, nothing is left to judge, or the
    judge is of the drafting model's family without ``allow_same_family``."""
    judge = _in_project(Endpoint, project, endpoint, NO_ENDPOINT, "endpoint")
    version = _in_project(PromptVersion, project, prompt, NO_PROMPT, "prompt")
    if version.kind != PromptKind.JUDGE:
        raise ValidationError(
            {"prompt": NOT_JUDGE.format(name=version.name, kind=version.get_kind_display())}
        )
    if generation not in (None, "") and target in ("", None, "answers"):
        target = "generation"
    if target not in TARGETS:
        raise ValidationError({"target": BAD_TARGET})
    run = None
    if target == "generation":
        if generation in (None, ""):
            raise ValidationError({"generation": NEEDS_GENERATION})
        run = generation_job(project, generation)
    if sample not in (None, "") and filter:
        raise ValidationError(SAMPLE_AND_FILTER)
    chosen = (
        _in_project(Sample, project, sample, NO_SAMPLE, "sample")
        if sample not in (None, "")
        else None
    )
    cleaned = {} if chosen else samples.clean_filter(project, filter)
    ids = _chosen(project, target, chosen, cleaned, run)
    if not ids:
        raise ValidationError(NOTHING_TO_JUDGE.format(what=WHAT[target]))
    drafters = drafting_families(target, ids, run)
    clash = next((f for f in drafters if same_family(f, judge.family)), None)
    if clash is not None and not allow_same_family:
        raise ValidationError(
            {
                "allow_same_family": SAME_FAMILY.format(
                    judge=judge.model, family=judge.family, drafters=drafters[clash], drafting=clash
                )
            }
        )
    params = {
        "prompt": version.pk,
        "prompt_name": version.name,
        "endpoint": judge.pk,
        "endpoint_name": judge.name,
        "model": judge.model,
        "family": judge.family,
        "params": call_params(version, judge),
        "price_input": str(judge.price_input) if judge.price_input is not None else None,
        "price_output": str(judge.price_output) if judge.price_output is not None else None,
        "target": target,
        "generation": run.pk if run else None,
        "sample": chosen.pk if chosen else None,
        "filter": cleaned,
        "items": ids,
        "drafting_families": sorted(drafters),
        "allow_same_family": bool(allow_same_family and clash is not None),
        "same_family": clash or "",
    }
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=KIND,
            created_by=actor if isinstance(actor, User) else None,
            total=len(ids),
            params=params,
        )
        PromptVersion.objects.filter(pk=version.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        enqueue(RUN_TASK, job.pk)
    return job


DEFAULT_NAME = "Five-point judge"


def default_prompt_name(project: Project) -> str:
    """The first free name of "Five-point judge", "Five-point judge 2", … in the project."""
    taken = set(
        PromptVersion.objects.filter(project=project, name__startswith=DEFAULT_NAME).values_list(
            "name", flat=True
        )
    )
    return next(
        n
        for n in (DEFAULT_NAME, *(f"{DEFAULT_NAME} {i}" for i in range(2, 1000)))
        if n not in taken
    )


def project_run(project: Project, job_id: Any) -> Job:
    """A judgement run of ``project``; 404 for any other id."""
    try:
        job = Job.objects.filter(project=project, kind=KIND, pk=int(job_id)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise Http404("No such judgement run.")
    return job


def override_note(job: Job) -> str:
    """What every report of a same-family run says about it ("" for other runs)."""
    params = job.params if isinstance(job.params, Mapping) else {}
    if not params.get("allow_same_family"):
        return ""
    return OVERRIDE_NOTE.format(family=params.get("same_family") or params.get("family"))


def cancel_judgement(job: Job) -> bool:
    """Stop a run between items; what it judged so far stays. False when it had finished."""
    return move_job(
        Job, job.pk, source=(JobStatus.PENDING, JobStatus.RUNNING), to=JobStatus.CANCELLED
    )
