"""Re-check jobs, which re-run a project's checks on chosen items and replace their
stored results, and the sweeper that rescues submissions whose check task was lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.models import Item
from annotation.states import State
from checks.config import enabled_checks
from checks.models import CheckResult, Outcome
from checks.services import compute_results, index_item
from core import jobs
from core.enqueue import CHECK_SUBMISSION, enqueue
from core.models import JobStatus, move_job
from projects.models import Job, Project

NOTHING_TO_RECHECK = "Choose the items to re-check: a list of item ids or a state."
UNKNOWN_ITEMS = "These items are not in this project: {ids}."
TOO_MANY_ITEMS = "A re-check takes at most {limit} items at once."

RECHECK_LIMIT = 100_000
STUCK_AFTER = timedelta(minutes=2)


def start_recheck(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    item_ids: Sequence[Any] | None = None,
    state: str | None = None,
) -> Job:
    """Queue a background job that re-runs the project's checks on the chosen items'
    current revisions (by id, or every item in ``state``)."""
    items = Item.objects.filter(project=project, current_revision__isnull=False)
    if item_ids:
        try:
            ids = sorted({int(i) for i in item_ids})
        except (TypeError, ValueError):
            raise ValidationError({"items": NOTHING_TO_RECHECK}) from None
        if len(ids) > RECHECK_LIMIT:
            raise ValidationError({"items": TOO_MANY_ITEMS.format(limit=RECHECK_LIMIT)})
        known = set(Item.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValidationError(
                {"items": UNKNOWN_ITEMS.format(ids=", ".join(map(str, unknown[:10])))}
            )
        items = items.filter(pk__in=ids)
    elif state:
        if state not in State.values:
            raise ValidationError({"state": f"State must be one of {', '.join(State.values)}."})
        items = items.filter(state=state)
    else:
        raise ValidationError(NOTHING_TO_RECHECK)
    chosen = list(items.order_by("pk").values_list("pk", flat=True)[: RECHECK_LIMIT + 1])
    if len(chosen) > RECHECK_LIMIT:
        raise ValidationError({"items": TOO_MANY_ITEMS.format(limit=RECHECK_LIMIT)})
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind="recheck",
            created_by=actor if isinstance(actor, User) else None,
            total=len(chosen),
            params={"items": chosen, "state": state or ""},
        )
        enqueue("checks.run_recheck", job.pk)
    return job


def run_recheck_job(job_id: int) -> None:
    """Re-run the checks on each item of the job and replace their stored results. Items
    still waiting in ``submitted`` are routed as after a first run; others keep their
    place and show the new results. Safe to run again: it resumes from ``progress``."""
    attempt = jobs.claim(Job, job_id)
    if attempt is None:
        return  # gone, finished (a re-run is a new job), or alive in another worker
    job = Job.objects.select_related("project").get(pk=job_id)
    project = job.project
    checks = enabled_checks(project)
    ids = list(job.params.get("items") or [])
    counts = dict(job.result or {})
    errors = list(job.errors or [])
    for position in range(job.progress, len(ids)):
        item = (
            Item.objects.select_related("current_revision")
            .filter(pk=ids[position], project=project)
            .first()
        )
        if item is not None and item.current_revision is not None:
            revision = item.current_revision
            rows, fp = compute_results(revision, item, project, checks)
            with transaction.atomic():
                Item.objects.select_for_update().filter(pk=item.pk).first()
                CheckResult.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["revision", "name", "version"],
                    update_fields=["outcome", "severity", "message", "details", "created_at"],
                )
                # Results of checks the project has since switched off no longer apply.
                CheckResult.objects.filter(revision=revision).exclude(
                    name__in=[r.name for r in rows]
                ).delete()
                index_item(item, revision, fp)
            worst = (
                "fail"
                if any(r.outcome == Outcome.FAIL for r in rows)
                else ("warn" if any(r.outcome == Outcome.WARN for r in rows) else "pass")
            )
            counts[worst] = counts.get(worst, 0) + 1
            if item.state == State.SUBMITTED:
                # Still waiting for its first routing: the check task finds the results
                # stored and routes it as after a first run.
                enqueue(CHECK_SUBMISSION, revision.pk)
        else:
            errors.append({"item": ids[position], "message": "The item has no answer to check."})
        if (position + 1) % 50 == 0 or position + 1 == len(ids):
            alive = jobs.beat(
                Job,
                job.pk,
                attempt=attempt,
                progress=position + 1,
                result=counts,
                errors=errors[-100:],
            )
            if not alive:
                return  # cancelled, or taken over by another worker after this one went silent
    move_job(
        Job,
        job.pk,
        source=JobStatus.RUNNING,
        to=JobStatus.SUCCEEDED,
        filters={"attempts": attempt},
        progress=len(ids),
        result=counts,
        errors=errors[-100:],
    )


def sweep_stuck_submissions(*, older_than: timedelta = STUCK_AFTER, limit: int = 500) -> int:
    """Enqueue the checks again for items that have waited in ``submitted`` longer than
    ``older_than`` (their task was lost: broker restart, worker killed). Returns how
    many were re-enqueued. Re-running is harmless: results are idempotent."""
    cutoff = timezone.now() - older_than
    stuck = list(
        Item.objects.filter(
            state=State.SUBMITTED, state_changed_at__lt=cutoff, current_revision__isnull=False
        )
        .order_by("state_changed_at")
        .values_list("current_revision_id", flat=True)[:limit]
    )
    sent = 0
    for revision_id in stuck:
        # Once per window per revision, so a long backlog is not multiplied.
        if cache.add(f"checks:swept:{revision_id}", 1, timeout=int(older_than.total_seconds())):
            enqueue(CHECK_SUBMISSION, revision_id)
            sent += 1
    return sent
