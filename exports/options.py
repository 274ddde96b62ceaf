"""Export options and filters: validated and brought to one canonical shape (so the same
choices always give the same bytes), and the approved items they select.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from exports.formats import FORMATS, PROMPT_COMPLETION, RenderOptions
from exports.split import TRAIN, VALIDATION, split_key, validation_picker
from projects.models import Membership, Project
from reviews.models import Decision, Review

ERR_FORMAT = "Choose a format: " + ", ".join(FORMATS) + "."
ERR_VALIDATION = "The validation share must be a number between 0 and 0.5 (e.g. 0.1)."
ERR_SEED = "The split seed must be a whole number."
ERR_SPLIT = 'The split must be {"validation": 0.1, "seed": 42} or null.'
ERR_BOOL = "{name} must be true or false."
ERR_TEXT = "{name} must be text."
ERR_TEMPLATE = "The prompt template must contain {prompt}, where the prompt goes."
ERR_PROMPT_COMPLETION_ONLY = (
    "Template, completion prefix, separator and stop apply only to the prompt-completion format."
)
ERR_TAGS = "Tags must be a list of words."
ERR_STAGE = "The review stage must be a whole number, 0 for the first stage."
ERR_DATE = "Dates must be written as YYYY-MM-DD."
ERR_DATE_ORDER = "The start date must not be after the end date."
ERR_ANNOTATOR = "No member of this project is called “{name}”."
ERR_UNKNOWN = "Unknown option(s): {names}."

FILTER_KEYS = ("tags", "stage", "approved_from", "approved_to", "annotator", "items")
PROMPT_COMPLETION_KEYS = ("template", "completion_prefix", "separator", "stop")
OPTION_KEYS = (
    "format",
    "split",
    "dedup",
    "include_metadata",
    "system_prompt",
    "filters",
    *PROMPT_COMPLETION_KEYS,
)


# --- options -----------------------------------------------------------------------------


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "true",
        "1",
        "on",
        "yes",
        "false",
        "0",
        "no",
        "",
    ):
        return value.lower() in ("true", "1", "on", "yes")
    raise ValidationError({name: ERR_BOOL.format(name=name)})


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({name: ERR_TEXT.format(name=name)})
    return value


def _date(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError({name: ERR_DATE}) from None


def _split(value: Any) -> dict[str, Any] | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict) or set(value) - {"validation", "seed"}:
        raise ValidationError({"split": ERR_SPLIT})
    fraction = value.get("validation", 0.1)
    if isinstance(fraction, bool):
        raise ValidationError({"split": ERR_VALIDATION})
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise ValidationError({"split": ERR_VALIDATION}) from None
    if not 0 < fraction <= 0.5:
        raise ValidationError({"split": ERR_VALIDATION})
    seed = value.get("seed", 42)
    if isinstance(seed, bool) or not (
        isinstance(seed, int) or (isinstance(seed, str) and seed.strip().lstrip("-").isdigit())
    ):
        raise ValidationError({"split": ERR_SEED})
    return {"validation": fraction, "seed": int(seed)}


def _filters(project: Project, value: Any) -> dict[str, Any]:
    value = value or {}
    if not isinstance(value, dict):
        raise ValidationError({"filters": ERR_UNKNOWN.format(names="filters")})
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise ValidationError({"filters": ERR_UNKNOWN.format(names=", ".join(unknown))})
    tags = value.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ValidationError({"tags": ERR_TAGS})
    raw_stage = value.get("stage")
    stage: int | None = None
    if raw_stage not in ("", None):
        if isinstance(raw_stage, bool) or not str(raw_stage).isdigit():
            raise ValidationError({"stage": ERR_STAGE})
        stage = int(str(raw_stage))
    approved_from = _date(value.get("approved_from"), "approved_from")
    approved_to = _date(value.get("approved_to"), "approved_to")
    if approved_from and approved_to and approved_from > approved_to:
        raise ValidationError({"approved_to": ERR_DATE_ORDER})
    annotator = _text(value.get("annotator"), "annotator").strip() or None
    if (
        annotator
        and not Membership.objects.filter(project=project, user__username=annotator).exists()
    ):
        raise ValidationError({"annotator": ERR_ANNOTATOR.format(name=annotator)})
    normalized: dict[str, Any] = {
        "tags": sorted(set(tags)),
        "stage": stage,
        "approved_from": approved_from,
        "approved_to": approved_to,
        "annotator": annotator,
    }
    # An explicit selection of item ids (the explorer's "export these"); only when given,
    # so every other export keeps its canonical options.
    items = value.get("items")
    if items:
        if not isinstance(items, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in items
        ):
            raise ValidationError({"items": "items must be a list of item ids."})
        normalized["items"] = sorted(set(items))
    return normalized


def normalize_options(*, project: Project, options: dict[str, Any]) -> dict[str, Any]:
    """The export options in their one canonical shape (fixed keys and order), or a
    ValidationError naming the first problem in words."""
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ValidationError({"detail": ERR_UNKNOWN.format(names=", ".join(unknown))})
    fmt = options.get("format")
    if fmt not in FORMATS:
        raise ValidationError({"format": ERR_FORMAT})
    normalized: dict[str, Any] = {
        "format": fmt,
        "split": _split(options.get("split")),
        "dedup": _bool(options.get("dedup", False), "dedup"),
        "include_metadata": _bool(options.get("include_metadata", False), "include_metadata"),
        "system_prompt": _text(options.get("system_prompt"), "system_prompt"),
        "filters": _filters(project, options.get("filters")),
    }
    given = {k: options[k] for k in PROMPT_COMPLETION_KEYS if options.get(k) not in (None, "")}
    if fmt == PROMPT_COMPLETION:
        template = _text(given.get("template", "{prompt}"), "template")
        if "{prompt}" not in template:
            raise ValidationError({"template": ERR_TEMPLATE})
        normalized["prompt_completion"] = {
            "template": template,
            "completion_prefix": _text(given.get("completion_prefix"), "completion_prefix"),
            "separator": _text(given.get("separator"), "separator"),
            "stop": _text(given.get("stop"), "stop"),
        }
    elif given:
        raise ValidationError({next(iter(given)): ERR_PROMPT_COMPLETION_ONLY})
    return normalized


def render_options(options: dict[str, Any]) -> RenderOptions:
    return RenderOptions(
        system_prompt=options["system_prompt"], **options.get("prompt_completion", {})
    )


# --- selection -----------------------------------------------------------------------------


def selected_items(project: Project, filters: dict[str, Any]) -> QuerySet[Item]:
    """The approved items the filters choose (all but the tag filter, applied while
    reading the snapshot so it works on every database)."""
    items = Item.objects.filter(
        project=project, state=State.APPROVED, current_revision__isnull=False
    )
    if filters.get("stage") is not None:
        items = items.filter(
            Exists(
                Review.objects.filter(
                    item=OuterRef("pk"),
                    stage__gte=filters["stage"],
                    decision__in=[Decision.APPROVE, Decision.EDIT],
                )
            )
        )
    if filters.get("items"):
        items = items.filter(pk__in=filters["items"])
    if filters.get("approved_from"):
        items = items.filter(state_changed_at__date__gte=filters["approved_from"])
    if filters.get("approved_to"):
        items = items.filter(state_changed_at__date__lte=filters["approved_to"])
    if filters.get("annotator"):
        items = items.filter(
            Exists(
                Revision.objects.filter(
                    item=OuterRef("pk"),
                    kind=RevisionKind.SUBMISSION,
                    author__username=filters["annotator"],
                )
            )
        )
    return items


def snapshot_ids(project: Project, filters: dict[str, Any]) -> Iterator[int]:
    """The current revision ids of the selected items, in item order."""
    items = selected_items(project, filters).order_by("id")
    wanted = set(filters.get("tags") or [])
    if not wanted:
        yield from items.values_list("current_revision_id", flat=True).iterator(chunk_size=10_000)
        return
    for revision_id, tags in items.values_list("current_revision_id", "tags").iterator(
        chunk_size=10_000
    ):
        if wanted.intersection(tags or []):
            yield revision_id


def _first_tagged(items: QuerySet[Item], wanted: set[str]) -> bool:
    """Whether any of ``items`` has one of the ``wanted`` tags (read in id order, stopping
    at the first one: the tag filter runs in Python, see :func:`selected_items`)."""
    for tags in items.order_by("id").values_list("tags", flat=True).iterator(chunk_size=2000):
        if wanted.intersection(tags or []):
            return True
    return False


def has_rows(project: Project, filters: dict[str, Any]) -> bool:
    """Whether the filters select at least one item."""
    if filters.get("tags"):
        return next(snapshot_ids(project, filters), None) is not None
    return selected_items(project, filters).exists()


def pairable(items: QuerySet[Item]) -> QuerySet[Item]:
    """The items that may give a preference pair: those with a model draft (corrected, it
    is the rejected side) or a review that kept the answers it did not pick (overlap)."""
    kept_alternatives = Review.objects.filter(item=OuterRef("pk")).exclude(alternatives=[])
    return items.filter(~Q(model_draft="") | Exists(kept_alternatives))


def has_pairs(project: Project, filters: dict[str, Any]) -> bool:
    """Whether any selected item may give a preference pair: one EXISTS query (a scan
    stopping at the first tagged match with a tag filter), not a trial export."""
    items = pairable(selected_items(project, filters))
    wanted = set(filters.get("tags") or [])
    return _first_tagged(items, wanted) if wanted else items.exists()


def split_sides(
    project: Project, filters: dict[str, Any], split: dict[str, Any], *, pairs_only: bool = False
) -> tuple[set[str], int]:
    """The sides of the split (train, validation) the selected items fall on, and how many
    items were read to tell. Reads only the items' ids (in id order) and stops as soon as
    both sides have an item, which for any usable share is after a handful of rows; only
    a split that would leave a side empty reads every key."""
    pick = validation_picker(fraction=split["validation"], seed=split["seed"])
    items = selected_items(project, filters)
    if pairs_only:
        items = pairable(items)
    wanted = set(filters.get("tags") or [])
    rows = items.order_by("id").values_list("id", "external_id", "tags" if wanted else "id")
    sides: set[str] = set()
    read = 0
    for item_id, external_id, tags in rows.iterator(chunk_size=2000):
        if wanted and not wanted.intersection(tags or []):
            continue
        read += 1
        sides.add(
            VALIDATION if pick(split_key(item_id=item_id, external_id=external_id)) else TRAIN
        )
        if len(sides) == 2:
            break
    return sides, read
