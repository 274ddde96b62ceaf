"""Bulk actions on a selection of items (ids, or everything matching an explorer
filter): one ``Job(kind="bulk")`` each, run in the background with progress.

:func:`start_bulk` validates everything and fixes the list of items before the job
exists (a bad request is refused whole, never half-applied); :func:`run_bulk_job` applies
the action item by item through the same services as the admin item page, so the state
table and the history hold, and records each item that refused (for instance, one that
moved meanwhile) in ``job.errors``. Safe to run again: it resumes from ``progress``.
``recheck`` and ``export`` hand the whole selection to a re-check or export job, whose
id the bulk job's ``result`` names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import Item, Queue
from annotation.states import State
from checks.recheck import start_recheck
from core import jobs
from core.enqueue import enqueue
from core.models import JobStatus, move_job
from exports.services import create_export
from overview import explorer, services
from projects.access import ProjectAccess
from projects.models import Job

ACTIONS = ("retag", "priority", "queue", "requeue", "recheck", "gold", "flag", "export")
LIMIT = 100_000
EXPORT_LIMIT = 20_000
ERR_ACTION = "action must be one of " + ", ".join(ACTIONS) + "."
ERR_SELECTION = "Choose the items: ids (a list of item ids) or filter (explorer filters)."
ERR_BOTH = "Give ids or filter, not both."
ERR_IDS = "ids must be a list of item ids."
ERR_UNKNOWN_IDS = "These items are not in this project: {ids}."
ERR_NONE = "No item matches this selection."
ERR_TOO_MANY = "A bulk action takes at most {limit} items at once; narrow the filter."
ERR_TAGS = "Give tags to add or remove (lists of words)."
ERR_PRIORITY = "priority must be a whole number."
ERR_QUEUE = "queue must be the id of one of this project's queues, or default."
ERR_REASON = "Say why (reason)."
ERR_GOLD = "gold must be true or false."
ERR_FIELDS = "Unknown field(s) for {action}: {names}."
EXPORT_NOT_APPROVED = "Only approved items are exported; this one is {state}."

# Per action, the fields it takes besides action, ids and filter.
FIELDS: dict[str, tuple[str, ...]] = {
    "retag": ("add", "remove"),
    "priority": ("priority",),
    "queue": ("queue",),
    "requeue": ("reason",),
    "recheck": (),
    "gold": ("gold",),
    "flag": ("reason", "discard"),
    "export": ("format", "options"),
}


def _tags(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [t.strip() for t in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValidationError({"add": ERR_TAGS})
    return [t.strip() for t in value if t.strip()]


def _queue(project_id: int, value: Any) -> int | None:
    if value in ("default", None, ""):
        return None
    try:
        queue = Queue.objects.get(project_id=project_id, pk=int(value))
    except (TypeError, ValueError, OverflowError, Queue.DoesNotExist):
        raise ValidationError({"queue": ERR_QUEUE}) from None
    return None if queue.is_default else queue.pk


def _params(action: str, data: Mapping[str, Any], project_id: int) -> dict[str, Any]:
    """The action's own parameters, validated."""
    if action == "retag":
        add, remove = _tags(data.get("add")), _tags(data.get("remove"))
        if not add and not remove:
            raise ValidationError({"add": ERR_TAGS})
        return {"add": add, "remove": remove}
    if action == "priority":
        raw = data.get("priority")
        if isinstance(raw, bool) or not str(raw).strip().lstrip("-").isdigit() or len(str(raw)) > 9:
            raise ValidationError({"priority": ERR_PRIORITY})
        return {"priority": int(str(raw).strip())}
    if action == "queue":
        return {"queue": _queue(project_id, data.get("queue"))}
    if action in ("requeue", "flag"):
        reason = str(data.get("reason") or "").strip()
        if action == "flag" and not reason:
            raise ValidationError({"reason": ERR_REASON})
        return {"reason": reason, "discard": bool(data.get("discard"))}
    if action == "gold":
        gold = data.get("gold", True)
        if gold not in (True, False, "true", "false"):
            raise ValidationError({"gold": ERR_GOLD})
        return {"gold": gold in (True, "true")}
    if action == "export":
        options = dict(data.get("options") or {})
        options.setdefault("format", data.get("format") or "openai-chat")
        return {"options": options}
    return {}


def _selection(access: ProjectAccess, user: Any, data: Mapping[str, Any]) -> list[int]:
    ids, flt = data.get("ids"), data.get("filter")
    if ids is not None and flt is not None:
        raise ValidationError({"ids": ERR_BOTH})
    if ids is not None:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids
        ):
            raise ValidationError({"ids": ERR_IDS})
        wanted = sorted(set(ids))
        if len(wanted) > LIMIT:
            raise ValidationError({"ids": ERR_TOO_MANY.format(limit=LIMIT)})
        known = set(
            Item.objects.filter(project=access.project, pk__in=wanted).values_list("pk", flat=True)
        )
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise ValidationError(
                {"ids": ERR_UNKNOWN_IDS.format(ids=", ".join(map(str, unknown[:10])))}
            )
        chosen = wanted
    elif isinstance(flt, dict):
        try:
            parsed = explorer.parse({k: str(v) for k, v in flt.items() if k != "page"})
        except explorer.FilterError as exc:
            raise ValidationError({"filter": str(exc)}) from None
        items = explorer.filtered(explorer.visible_items(access, user), parsed)
        chosen = list(items.values_list("pk", flat=True)[: LIMIT + 1])
        if len(chosen) > LIMIT:
            raise ValidationError({"filter": ERR_TOO_MANY.format(limit=LIMIT)})
    else:
        raise ValidationError({"ids": ERR_SELECTION})
    if not chosen:
        raise ValidationError({"ids": ERR_NONE})
    return chosen


def start_bulk(*, access: ProjectAccess, actor: Any, data: Mapping[str, Any]) -> Job:
    """Validate ``{action, ids or filter, …}``, fix the selection and queue the job."""
    action = data.get("action")
    if action not in ACTIONS:
        raise ValidationError({"action": ERR_ACTION})
    extra = sorted(set(data) - {"action", "ids", "filter"} - set(FIELDS[action]))
    if extra:
        raise ValidationError({"detail": ERR_FIELDS.format(action=action, names=", ".join(extra))})
    params = _params(action, data, access.project.pk)
    chosen = _selection(access, actor, data)
    if action == "export" and len(chosen) > EXPORT_LIMIT:
        raise ValidationError({"ids": ERR_TOO_MANY.format(limit=EXPORT_LIMIT)})
    with transaction.atomic():
        job = Job.objects.create(
            project=access.project,
            kind="bulk",
            created_by=actor if isinstance(actor, User) else None,
            total=len(chosen),
            params={"action": action, "items": chosen, **params},
        )
        enqueue("overview.run_bulk", job.pk)
    return job


# --- the job ------------------------------------------------------------------------------


def _one(job: Job, item: Item, actor: Any) -> None:
    """Apply the job's action to one item; raises Refused or ValidationError."""
    p = job.params
    action = p["action"]
    if action == "retag":
        services.retag(item=item, actor=actor, add=p["add"], remove=p["remove"], job=job)
    elif action == "priority":
        services.set_priority(item=item, actor=actor, priority=p["priority"], job=job)
    elif action == "queue":
        queue = Queue.objects.filter(pk=p["queue"]).first() if p["queue"] else None
        services.move_to_queue(item=item, actor=actor, queue=queue, job=job)
    elif action == "requeue":
        services.requeue(item=item, actor=actor, reason=p["reason"])
    elif action == "gold":
        services.mark_gold(item=item, actor=actor, gold=p["gold"], job=job)
    elif action == "flag":
        category = services.DISCARDED if p.get("discard") else "admin"
        services.flag(item=item, actor=actor, reason=p["reason"], category=category)


def _handover(job: Job, actor: Any, ids: Sequence[int]) -> tuple[dict[str, Any], list[Any]]:
    """``recheck`` and ``export``: one job of the app that does the work."""
    project = job.project
    errors: list[Any] = []
    if job.params["action"] == "recheck":
        answered = list(
            Item.objects.filter(pk__in=ids, current_revision__isnull=False).values_list(
                "pk", flat=True
            )
        )
        errors = [
            {"item": i, "message": "The item has no answer to check."}
            for i in sorted(set(ids) - set(answered))
        ]
        if not answered:
            return {"done": 0}, errors
        recheck = start_recheck(project=project, actor=actor, item_ids=answered)
        return {"recheck_job": recheck.pk, "done": len(answered)}, errors
    approved = set(
        Item.objects.filter(pk__in=ids, state=State.APPROVED).values_list("pk", flat=True)
    )
    for item_id, state in (
        Item.objects.filter(pk__in=ids).exclude(pk__in=approved).values_list("pk", "state")
    ):
        errors.append({"item": item_id, "message": EXPORT_NOT_APPROVED.format(state=state)})
    if not approved:
        return {"done": 0}, errors
    options = dict(job.params["options"])
    options["filters"] = {**(options.get("filters") or {}), "items": sorted(approved)}
    export = create_export(project=project, user=actor, options=options)
    return {"export_job": export.pk, "done": len(approved)}, errors


def _claim(job_id: int) -> int | None:
    """Start an attempt (core.jobs.claim); None when finished or alive elsewhere."""
    return jobs.claim(Job, job_id)


def _fail(job: Job, message: str) -> None:
    move_job(
        Job, job.pk, source=JobStatus.RUNNING, to=JobStatus.FAILED, errors=[{"message": message}]
    )


def run_bulk_job(job_id: int, *, on_item: Callable[[int], None] | None = None) -> None:
    """Apply the job's action to each of its items, recording refusals."""
    attempt = _claim(job_id)
    if attempt is None:
        return
    job = Job.objects.select_related("project", "created_by").get(pk=job_id)
    actor = job.created_by
    ids = list(job.params.get("items") or [])
    if job.params["action"] in ("recheck", "export"):
        try:
            result, errors = _handover(job, actor, ids)
        except ValidationError as exc:
            _fail(job, " ".join(exc.messages))
            return
        move_job(
            Job,
            job.pk,
            source=JobStatus.RUNNING,
            to=JobStatus.SUCCEEDED,
            progress=len(ids),
            result=result,
            errors=errors[-1000:],
        )
        return
    errors = list(job.errors or [])
    done = int((job.result or {}).get("done", 0))
    for position in range(job.progress, len(ids)):
        item = Item.objects.select_related("project").filter(pk=ids[position]).first()
        try:
            if item is None or item.project_id != job.project_id:
                raise services.Refused("The item no longer exists.")
            _one(job, item, actor)
            done += 1
        except (services.Refused, ValidationError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            errors.append({"item": ids[position], "message": text})
        if on_item is not None:
            on_item(position)
        if (position + 1) % 50 == 0 or position + 1 == len(ids):
            alive = jobs.beat(
                Job,
                job.pk,
                attempt=attempt,
                progress=position + 1,
                result={"done": done},
                errors=errors[-1000:],
            )
            if not alive:
                return  # taken over by another worker after this one went silent
    move_job(
        Job,
        job.pk,
        source=JobStatus.RUNNING,
        to=JobStatus.SUCCEEDED,
        progress=len(ids),
        result={"done": done, "refused": len(errors)},
        errors=errors[-1000:],
    )
