"""Generation runs: a prompt version drafted by an endpoint over a sample (a trial: the
drafts are kept for reading, items are untouched) or over the project's items (the
drafts become the items' model drafts).

A run is a ``projects.Job`` of kind ``generation``. Its ``params`` record the exact
prompt version, endpoint, base URL, model, family and parameters at creation. One
``Generation`` row per (run, item), written with the item's draft in one transaction,
so a run resumed after its worker died skips what it already did and never drafts an
item twice. Model calls run on up to ``max_concurrency`` threads, within the
endpoint's limits; the database is written from the run's own thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from annotation.models import Assignment, AssignmentStatus, Item
from annotation.states import State
from assist import prompts, samples
from assist.calls import call_model
from assist.client import ModelError
from assist.models import Endpoint, Generation, PromptKind, PromptVersion, Sample
from assist.prompting import chat_messages, item_context
from core import jobs
from core.enqueue import enqueue
from core.models import JobStatus, move_job
from projects.models import Job, Project

logger = logging.getLogger(__name__)

KIND = "generation"
TASK = "assist.run_generation"
NO_ENDPOINT = "Choose one of this project's endpoints."
NO_PROMPT = "Choose one of this project's prompt versions."
NOT_DRAFT = "Version {name!r} is a {kind} prompt; drafts need a draft prompt."
NO_SAMPLE = "Choose one of this project's samples."
SAMPLE_OR_FILTER = "Give a sample or a filter, not both."
NOTHING = "No items to draft: the sample or filter matches none."
TOO_MANY = "A run takes at most {limit} items at once; narrow the filter."
BUSY = "Someone is working on this item, so its draft was left as it was."
GONE = "The item no longer exists."
ENDPOINT_GONE = "The endpoint of this run was removed."
UNEXPECTED = "The draft could not be made (unexpected error; see the worker's log)."
NOT_CANCELLABLE = "This job has finished; only a pending or running job can be cancelled."

RUN_LIMIT = 100_000
FLUSH_EVERY = 50  # results written per transaction
FLUSH_SECONDS = 0.5
ERRORS_KEPT = 500
CHUNK = 200  # items read per query


def _pick(model: type[Any], project: Project, pk: Any, message: Any) -> Any:
    try:
        key = int(pk.pk if hasattr(pk, "pk") else pk)
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    row = model.objects.filter(project=project, pk=key).first()
    if row is None:
        raise ValidationError(message)
    return row


def start_generation(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    endpoint: Endpoint | int,
    prompt: PromptVersion | int,
    sample: Sample | int | str | None = None,
    filter: Any = None,
) -> Job:
    """Queue a run of ``prompt`` on ``endpoint``: over ``sample`` (a trial), or over the
    items ``filter`` matches (all items when neither is given), whose drafts it applies.
    Freezes the prompt version."""
    chosen_endpoint: Endpoint = _pick(Endpoint, project, endpoint, {"endpoint": NO_ENDPOINT})
    version: PromptVersion = _pick(PromptVersion, project, prompt, {"prompt": NO_PROMPT})
    if version.kind != PromptKind.DRAFT:
        raise ValidationError({"prompt": NOT_DRAFT.format(name=version.name, kind=version.kind)})
    if sample not in (None, "") and filter not in (None, "", {}):
        raise ValidationError(SAMPLE_OR_FILTER)
    chosen_sample: Sample | None = None
    cleaned: dict[str, Any] = {}
    if sample not in (None, ""):
        chosen_sample = _pick(Sample, project, sample, {"sample": NO_SAMPLE})
        assert chosen_sample is not None
        existing = set(
            Item.objects.filter(project=project, pk__in=chosen_sample.item_ids).values_list(
                "pk", flat=True
            )
        )
        ids = [i for i in chosen_sample.item_ids if i in existing]
    else:
        cleaned = samples.clean_filter(project, filter)
        ids = list(
            samples.matching_items(project, cleaned).values_list("pk", flat=True)[: RUN_LIMIT + 1]
        )
    if not ids:
        raise ValidationError(NOTHING)
    if len(ids) > RUN_LIMIT:
        raise ValidationError(TOO_MANY.format(limit=RUN_LIMIT))
    params = {
        "prompt": version.pk,
        "prompt_name": version.name,
        "endpoint": chosen_endpoint.pk,
        "endpoint_name": chosen_endpoint.name,
        "base_url": chosen_endpoint.base_url,
        "model": chosen_endpoint.model,
        "family": chosen_endpoint.family,
        "parameters": dict(version.params or {}),
        "sample": chosen_sample.pk if chosen_sample else None,
        "filter": cleaned,
        "apply": chosen_sample is None,
        "items": ids,
    }
    with transaction.atomic():
        prompts.mark_used(version)
        job = Job.objects.create(
            project=project,
            kind=KIND,
            created_by=actor if isinstance(actor, User) else None,
            total=len(ids),
            params=params,
        )
        enqueue(TASK, job.pk)
    return job


def cancel_run(*, job: Job) -> Job:
    """Stop a pending or running run: it ends at its next item, keeping what it wrote."""
    moved = move_job(
        Job, job.pk, source=(JobStatus.PENDING, JobStatus.RUNNING), to=JobStatus.CANCELLED
    )
    if not moved:
        job.refresh_from_db()
        if job.status != JobStatus.CANCELLED:
            raise ValidationError(NOT_CANCELLABLE)
    job.refresh_from_db()
    return job


def _claim(job_id: int) -> bool:
    """Start an attempt at the run (core.jobs.claim): False when it is gone, finished,
    cancelled, or alive in another worker. A run taken over after its worker went
    silent keeps what was written."""
    return jobs.claim(Job, job_id) is not None


@dataclass
class Outcome:
    item_id: int
    text: str = ""
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0


def _draft(
    endpoint: Endpoint, item_id: int, messages: list[dict[str, str]], params: Any
) -> Outcome:
    """One model call, on a worker thread (no database here)."""
    try:
        answer = call_model(endpoint, messages, params)
    except ModelError as error:
        return Outcome(item_id, error=error.message)
    except Exception:
        logger.exception("drafting item %s failed", item_id)
        return Outcome(item_id, error=UNEXPECTED)
    if not answer.text.strip():
        return Outcome(item_id, error="The model answered with empty text.")
    return Outcome(
        item_id,
        text=answer.text,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        latency_ms=answer.latency_ms,
    )


def _prepared(
    project_id: int, ids: list[int], version: PromptVersion
) -> Iterator[tuple[int, list[dict[str, str]] | None]]:
    """Each item's messages, read in chunks; None for an item that is gone."""
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found = {
            item.pk: item
            for item in Item.objects.filter(project_id=project_id, pk__in=chunk).select_related(
                "current_revision"
            )
        }
        for item_id in chunk:
            item = found.get(item_id)
            if item is None:
                yield item_id, None
            else:
                yield item_id, chat_messages(version.system, version.template, item_context(item))


def _write(
    job: Job, version: PromptVersion, outcomes: list[Outcome], apply: bool
) -> list[dict[str, Any]]:
    """Store a batch of results, and apply the drafts to items nobody is working on.
    Returns the batch's per-item errors."""
    errors: list[dict[str, Any]] = []
    with transaction.atomic():
        ids = [o.item_id for o in outcomes]
        done = set(
            Generation.objects.filter(job=job, item_id__in=ids).values_list("item_id", flat=True)
        )
        fresh = [o for o in outcomes if o.item_id not in done]
        existing = set(Item.objects.filter(pk__in=ids).values_list("pk", flat=True))
        free: set[int] = set()
        if apply:
            active = Assignment.objects.filter(item=OuterRef("pk"), status=AssignmentStatus.ACTIVE)
            free = set(
                Item.objects.select_for_update()
                .filter(pk__in=[o.item_id for o in fresh if o.text], state=State.QUEUED)
                .filter(~Exists(active))
                .values_list("pk", flat=True)
            )
        rows, drafts = [], []
        for o in fresh:
            if o.item_id not in existing:
                errors.append({"item": o.item_id, "message": GONE})
                continue
            applied = o.item_id in free
            if o.error:
                errors.append({"item": o.item_id, "message": o.error})
            elif apply and not applied:
                errors.append({"item": o.item_id, "message": BUSY})
            rows.append(
                Generation(
                    job=job,
                    prompt=version,
                    item_id=o.item_id,
                    output=o.text,
                    error=o.error,
                    applied=applied,
                    prompt_tokens=o.prompt_tokens,
                    completion_tokens=o.completion_tokens,
                    latency_ms=o.latency_ms,
                )
            )
            if applied:
                drafts.append(Item(pk=o.item_id, model_draft=o.text))
        Generation.objects.bulk_create(rows, ignore_conflicts=True)
        if drafts:
            Item.objects.bulk_update(drafts, ["model_draft"], batch_size=500)
    return errors


def run_summary(job: Job, endpoint: Endpoint | None = None) -> dict[str, Any]:
    """Counts, token usage and (with the endpoint's prices) cost, from the stored rows."""
    totals = Generation.objects.filter(job=job).aggregate(
        done=Count("pk"),
        failed=Count("pk", filter=~Q(error="")),
        applied=Count("pk", filter=Q(applied=True)),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    summary: dict[str, Any] = {key: int(value or 0) for key, value in totals.items()}
    summary["drafted"] = summary["done"] - summary["failed"]
    if endpoint is not None and (
        endpoint.price_input is not None or endpoint.price_output is not None
    ):
        cost = (
            Decimal(summary["prompt_tokens"]) * (endpoint.price_input or Decimal(0))
            + Decimal(summary["completion_tokens"]) * (endpoint.price_output or Decimal(0))
        ) / Decimal(1_000_000)
        summary["cost"] = float(round(cost, 10))
    return summary


class _Run:
    """One attempt at a run: feeds threads, writes their results in batches, and
    stops early when the run is cancelled."""

    def __init__(self, job: Job, endpoint: Endpoint, version: PromptVersion) -> None:
        self.job, self.endpoint, self.version = job, endpoint, version
        self.apply = bool(job.params.get("apply"))
        self.params = dict(job.params.get("parameters") or {})
        self.errors: list[dict[str, Any]] = list(job.errors or [])
        self.pending: list[Outcome] = []
        self.flushed_at = time.monotonic()
        self.cancelled = False
        self.gone = 0

    def flush(self) -> None:
        if self.pending:
            self.errors.extend(_write(self.job, self.version, self.pending, self.apply))
            self.pending = []
        summary = run_summary(self.job, self.endpoint)
        Job.objects.filter(pk=self.job.pk).update(
            progress=summary["done"] + self.gone,
            result=summary,
            errors=self.errors[-ERRORS_KEPT:],
            heartbeat_at=timezone.now(),
        )
        self.cancelled = Job.objects.filter(pk=self.job.pk, status=JobStatus.CANCELLED).exists()
        self.flushed_at = time.monotonic()

    def collect(self, finished: set[Future[Outcome]]) -> None:
        self.pending.extend(f.result() for f in finished)
        due = time.monotonic() - self.flushed_at > FLUSH_SECONDS
        if len(self.pending) >= FLUSH_EVERY or due:
            self.flush()

    def run(self, ids: list[int]) -> None:
        width = max(1, int(self.endpoint.max_concurrency or 1))
        queued = _prepared(self.job.project_id, ids, self.version)
        inflight: set[Future[Outcome]] = set()
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="draft") as pool:
            exhausted = False
            while True:
                while not exhausted and not self.cancelled and len(inflight) < width * 2:
                    nxt = next(queued, None)
                    if nxt is None:
                        exhausted = True
                        break
                    item_id, messages = nxt
                    if messages is None:
                        self.gone += 1
                        self.errors.append({"item": item_id, "message": GONE})
                        continue
                    inflight.add(pool.submit(_draft, self.endpoint, item_id, messages, self.params))
                if not inflight:
                    break
                finished, inflight = wait(
                    inflight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED
                )
                self.collect(finished)
        self.flush()


def run_generation_job(job_id: int) -> None:
    """Draft every item of the run not drafted yet. Safe to run again: it resumes."""
    if not _claim(job_id):
        return  # gone, finished or cancelled: a re-run is a new job
    job = Job.objects.get(pk=job_id)
    version = PromptVersion.objects.filter(pk=job.params.get("prompt")).first()
    endpoint = Endpoint.objects.filter(
        pk=job.params.get("endpoint"), project_id=job.project_id
    ).first()
    if endpoint is None or version is None:
        message = ENDPOINT_GONE if endpoint is None else NO_PROMPT
        move_job(
            Job,
            job.pk,
            source=JobStatus.RUNNING,
            to=JobStatus.FAILED,
            errors=[*job.errors, {"item": None, "message": message}],
        )
        return
    # The run calls what it recorded, even if the endpoint was edited since.
    endpoint.base_url = job.params.get("base_url") or endpoint.base_url
    endpoint.model = job.params.get("model") or endpoint.model
    done = set(Generation.objects.filter(job=job).values_list("item_id", flat=True))
    ids = [i for i in job.params.get("items") or [] if i not in done]
    attempt = _Run(job, endpoint, version)
    attempt.run(ids)
    if attempt.cancelled:
        return
    summary = run_summary(job, endpoint)
    move_job(
        Job,
        job.pk,
        source=JobStatus.RUNNING,
        to=JobStatus.SUCCEEDED,
        progress=summary["done"] + attempt.gone,
        result=summary,
        errors=attempt.errors[-ERRORS_KEPT:],
    )
