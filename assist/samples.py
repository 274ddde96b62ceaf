"""Pinned random samples: drawn once with a stored seed from the items matching a small
filter, then reused for every prompt version, so versions are compared on the same
items. The same seed over the same items always draws the same sample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from annotation.models import Item, Queue
from annotation.states import State
from assist.models import Generation, Rating, Sample
from imports.models import ImportJob
from projects.models import Job, Project

DEFAULT_SIZE = 20
MAX_SIZE = 500
SIZE = f"The size is a whole number from 1 to {MAX_SIZE}."
SEED = "The seed is a whole number (leave it out for a random one)."
FILTER_OBJECT = "The filter is an object with any of state, tag, queue, import."
UNKNOWN_FILTER = "Unknown filter(s): {names}. Use state, tag, queue or import."
BAD_STATE = "State must be one of {states}."
BAD_QUEUE = "This project has no queue {value}."
BAD_IMPORT = "This project has no import {value}."
NO_ITEMS = "No items match this filter, so there is nothing to sample."
FILTERS = ("state", "tag", "queue", "import")


def _id(value: Any, message: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise ValidationError({"filter": message.format(value=value)}) from None


def clean_filter(project: Project, raw: Any) -> dict[str, Any]:
    """The filter with blank parts dropped and every part checked against the project."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"filter": FILTER_OBJECT})
    unknown = sorted(set(raw) - set(FILTERS))
    if unknown:
        raise ValidationError({"filter": UNKNOWN_FILTER.format(names=", ".join(unknown))})
    cleaned: dict[str, Any] = {}
    state = raw.get("state")
    if state not in (None, ""):
        if state not in State.values:
            raise ValidationError({"filter": BAD_STATE.format(states=", ".join(State.values))})
        cleaned["state"] = state
    tag = str(raw.get("tag") or "").strip()
    if tag:
        cleaned["tag"] = tag
    if raw.get("queue") not in (None, ""):
        queue = _id(raw["queue"], BAD_QUEUE)
        if not Queue.objects.filter(project=project, pk=queue).exists():
            raise ValidationError({"filter": BAD_QUEUE.format(value=queue)})
        cleaned["queue"] = queue
    if raw.get("import") not in (None, ""):
        job = _id(raw["import"], BAD_IMPORT)
        if not ImportJob.objects.filter(project=project, pk=job).exists():
            raise ValidationError({"filter": BAD_IMPORT.format(value=job)})
        cleaned["import"] = job
    return cleaned


def matching_items(project: Project, cleaned: dict[str, Any]) -> QuerySet[Item]:
    """The project's items a cleaned filter selects, by id."""
    items = Item.objects.filter(project=project)
    if cleaned.get("state"):
        items = items.filter(state=cleaned["state"])
    if cleaned.get("tag"):
        # The lookup JSON-encodes the tag, so it matches a whole quoted list element.
        items = items.filter(tags__icontains=cleaned["tag"])
    if cleaned.get("queue"):
        items = items.filter(queue_id=cleaned["queue"])
    if cleaned.get("import"):
        items = items.filter(import_job_id=cleaned["import"])
    return items.order_by("pk")


def draw(ids: list[int], size: int, seed: int) -> list[int]:
    """``size`` of ``ids`` (sorted first) drawn with ``seed``, in the order drawn."""
    ordered = sorted(ids)
    return random.Random(seed).sample(ordered, min(size, len(ordered)))


def _whole(value: Any, message: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    if not low <= number <= high:
        raise ValidationError(message)
    return number


def create_sample(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    size: Any = None,
    seed: Any = None,
    filter: Any = None,
    name: str = "",
) -> Sample:
    """Draw and pin a sample of ``size`` items (default 20, at most 500) matching
    ``filter``; ``seed`` is random when not given and is stored either way."""
    count = DEFAULT_SIZE if size in (None, "") else _whole(size, SIZE, 1, MAX_SIZE)
    if seed in (None, ""):
        chosen_seed = random.SystemRandom().randrange(2**31)
    else:
        chosen_seed = _whole(seed, SEED, -(2**63), 2**63 - 1)
    cleaned = clean_filter(project, filter)
    ids = list(matching_items(project, cleaned).values_list("pk", flat=True))
    if not ids:
        raise ValidationError({"filter": NO_ITEMS})
    picked = draw(ids, count, chosen_seed)
    return Sample.objects.create(
        project=project,
        name=(name or "").strip()[:100] or f"{len(picked)} items, seed {chosen_seed}",
        size=len(picked),
        seed=chosen_seed,
        filter=cleaned,
        item_ids=picked,
        created_by=actor if isinstance(actor, User) else None,
    )


# -- trying prompt versions on a sample ----------------------------------------------

BAD_VERDICT = "A rating is good or bad."
NOT_A_TRIAL = "Only drafts of a trial on a sample can be rated here."


def rate_generation(*, generation: Generation, user: User, verdict: str, note: str = "") -> Rating:
    """The admin's by-eye mark on one draft (one per person; a new mark replaces it)."""
    if verdict not in Rating.Verdict.values:
        raise ValidationError({"verdict": BAD_VERDICT})
    rating, _ = Rating.objects.update_or_create(
        generation=generation,
        user=user,
        defaults={"verdict": verdict, "note": (note or "").strip()[:2000]},
    )
    return rating


def latest_trials(sample: Sample) -> list[Job]:
    """The newest trial run of each prompt version on ``sample``, newest version first."""
    runs = Job.objects.filter(
        project_id=sample.project_id, kind="generation", params__sample=sample.pk
    ).order_by("-created_at", "-pk")
    latest: dict[int, Job] = {}
    for run in runs:
        latest.setdefault(int(run.params.get("prompt") or 0), run)
    return list(latest.values())


@dataclass
class GridRow:
    item: Item
    cells: list[Generation | None]
    same: bool


def sample_grid(
    sample: Sample, *, differences_only: bool = False
) -> tuple[list[Job], list[GridRow]]:
    """Versions (as their latest trial runs) by sample items: each cell the draft that
    version's run wrote for the item. ``differences_only`` drops the rows where every
    version wrote the same text."""
    runs = latest_trials(sample)
    items = {i.pk: i for i in Item.objects.filter(pk__in=sample.item_ids)}
    drafts = {
        (g.job_id, g.item_id): g
        for g in Generation.objects.filter(job__in=runs, item_id__in=sample.item_ids)
    }
    rows = []
    for item_id in sorted(sample.item_ids):
        item = items.get(item_id)
        if item is None:
            continue
        cells = [drafts.get((run.pk, item_id)) for run in runs]
        texts = {(c.output if c is not None else None) for c in cells}
        same = len(runs) > 1 and len(texts) == 1
        if differences_only and same:
            continue
        rows.append(GridRow(item, cells, same))
    return runs, rows
