"""Running a judgement run: each item once, up to the endpoint's concurrency at a time.

The model calls run on a few threads; the rows are written by the run's own thread,
one ``Judgement`` per (run, item) as each answer arrives, so a run delivered again
after its worker stopped skips what it already judged. A cancel is honoured between
items: what was judged stays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from annotation import messages as chat
from annotation.models import Item
from assist import judging
from assist.calls import call_model
from assist.client import Completion, ModelError
from assist.models import Endpoint, Generation, Judgement, PromptVersion
from core import jobs
from core.models import JobStatus, move_job
from core.tasks import TRANSIENT
from projects.models import Job

CHUNK = 100  # items loaded per query
GONE = "The run's {what} was deleted; nothing more can be judged."
NOTHING_LEFT = "The item has nothing left to judge (its {what} is gone)."


@dataclass(frozen=True)
class Task:
    item_id: int
    messages: list[dict[str, str]]
    revision_id: int | None = None
    generation_id: int | None = None


def _tasks(
    job: Job, prompt: PromptVersion, todo: list[int], errors: list[dict[str, Any]]
) -> Iterator[Task]:
    """The calls to make, loaded a chunk at a time; items with nothing to judge any
    more are noted in ``errors`` and skipped."""
    target = job.params.get("target", "answers")
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        items = Item.objects.select_related("current_revision").in_bulk(chunk)
        outputs: dict[int, Generation] = {}
        if target == "generation":
            outputs = {
                g.item_id: g
                for g in Generation.objects.filter(
                    job_id=job.params.get("generation"), item_id__in=chunk
                )
            }
        for item_id in chunk:
            item = items.get(item_id)
            task = _task(target, prompt, item, outputs.get(item_id)) if item else None
            if task is None:
                what = judging.WHAT[target].split(" ", 1)[1]
                errors.append({"item": item_id, "message": NOTHING_LEFT.format(what=what)})
                continue
            yield task


def _task(target: str, prompt: PromptVersion, item: Item, output: Generation | None) -> Task | None:
    if target == "answers":
        revision = item.current_revision
        if revision is None:
            return None
        text = chat.answer_text(revision.messages if isinstance(revision.messages, list) else [])
        return Task(item.pk, judging.judge_messages(prompt, item, text), revision_id=revision.pk)
    if target == "drafts":
        if not item.model_draft:
            return None
        return Task(item.pk, judging.judge_messages(prompt, item, item.model_draft))
    if output is None or not output.output:
        return None
    return Task(
        item.pk, judging.judge_messages(prompt, item, output.output), generation_id=output.pk
    )


def _row(job: Job, prompt: PromptVersion, task: Task, future: Future[Completion]) -> Judgement:
    row = Judgement(
        job=job,
        prompt=prompt,
        item_id=task.item_id,
        revision_id=task.revision_id,
        generation_id=task.generation_id,
    )
    try:
        answer = future.result()
    except ModelError as error:
        row.error = error.message
        return row
    parsed = judging.parse_judgement(answer.text)
    row.score, row.reason, row.raw = parsed.score, parsed.reason[:4000], answer.text[:20000]
    row.prompt_tokens, row.completion_tokens = answer.prompt_tokens, answer.completion_tokens
    row.latency_ms = answer.latency_ms
    return row


def summary(job: Job) -> dict[str, Any]:
    """The run's counts, mean score, token usage and cost, from its rows (one query)."""
    rows = Judgement.objects.filter(job=job).aggregate(
        judged=Count("id"),
        scored=Count("id", filter=Q(score__isnull=False)),
        errors=Count("id", filter=~Q(error="")),
        mean=Avg("score"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    judged, scored, failed = rows["judged"] or 0, rows["scored"] or 0, rows["errors"] or 0
    tokens_in, tokens_out = rows["prompt_tokens"] or 0, rows["completion_tokens"] or 0
    return {
        "judged": judged,
        "scored": scored,
        "invalid": judged - scored - failed,
        "errors": failed,
        "mean": round(float(rows["mean"]), 3) if rows["mean"] is not None else None,
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "cost": judging.cost(tokens_in, tokens_out, job.params),
    }


def _claim(job_id: int) -> bool:
    """Start an attempt at the run (core.jobs.claim): False when it is gone, finished,
    cancelled, or alive in another worker. A run taken over after its worker went
    silent keeps what was written."""
    return jobs.claim(Job, job_id) is not None


def _cancelled(job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, status=JobStatus.CANCELLED).exists()


def _judge_all(
    job: Job, endpoint: Endpoint, prompt: PromptVersion, todo: list[int], errors: list[Any]
) -> None:
    params = dict(job.params.get("params") or {})
    workers = max(1, min(int(endpoint.max_concurrency or 1), len(todo)))
    tasks: Iterator[Task] = _tasks(job, prompt, todo, errors)
    pending: dict[Future[Completion], Task] = {}
    stopped = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
        while True:
            while not stopped and len(pending) < workers:
                task = next(tasks, None)
                if task is None:
                    break
                pending[pool.submit(call_model, endpoint, task.messages, params)] = task
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            rows = [_row(job, prompt, pending.pop(f), f) for f in finished]
            Judgement.objects.bulk_create(rows, ignore_conflicts=True)
            errors.extend({"item": r.item_id, "message": r.error} for r in rows if r.error)
            done = Judgement.objects.filter(job=job).count()
            Job.objects.filter(pk=job.pk).update(
                progress=done, errors=errors[-100:], heartbeat_at=timezone.now()
            )
            stopped = stopped or _cancelled(job.pk)
            if stopped:
                for future in pending:
                    future.cancel()


def run_judgement_job(job_id: int) -> None:
    """Judge every item of the run that has no judgement yet, then store the summary.
    Safe to run again: a finished run is left alone, an interrupted one resumes."""
    if not _claim(job_id):
        return
    job = Job.objects.get(pk=job_id)
    params: Mapping[str, Any] = job.params if isinstance(job.params, Mapping) else {}
    endpoint_id, prompt_id = int(params.get("endpoint") or 0), int(params.get("prompt") or 0)
    endpoint = Endpoint.objects.filter(pk=endpoint_id, project_id=job.project_id).first()
    prompt = PromptVersion.objects.filter(pk=prompt_id, project_id=job.project_id).first()
    if endpoint is None or prompt is None:
        what = "judge endpoint" if endpoint is None else "prompt version"
        move_job(
            Job, job_id, source=JobStatus.RUNNING, to=JobStatus.FAILED,
            errors=[*(job.errors or []), {"item": None, "message": GONE.format(what=what)}],
        )  # fmt: skip
        return
    done = set(Judgement.objects.filter(job=job).values_list("item_id", flat=True))
    todo = [int(i) for i in params.get("items") or [] if int(i) not in done]
    errors = list(job.errors or [])
    try:
        _judge_all(job, endpoint, prompt, todo, errors)
    except TRANSIENT:
        raise  # the task is retried and resumes where this attempt stopped
    except Exception as exc:
        errors.append({"item": None, "message": f"The run stopped: {type(exc).__name__}."})
        move_job(Job, job_id, source=JobStatus.RUNNING, to=JobStatus.FAILED, errors=errors[-100:])
        raise
    result = summary(job)
    progress = result["judged"]
    if not move_job(
        Job, job_id, source=JobStatus.RUNNING, to=JobStatus.SUCCEEDED,
        progress=progress, result=result, errors=errors[-100:],
    ):  # fmt: skip
        # Cancelled meanwhile: keep the status, record what was judged.
        Job.objects.filter(pk=job_id).update(progress=progress, result=result, errors=errors[-100:])
