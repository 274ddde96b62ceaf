"""The item explorer's filters: one parser for the page, the API and bulk actions, so a
filter means the same everywhere, and the rows of one page read in a fixed number of
queries whatever the page size.

Filters (query-string names): ``state``, ``stage``, ``tag``, ``queue`` (an id or
``default``), ``import`` (an import job id), ``annotator`` and ``reviewer`` (usernames),
``check`` (``name:outcome``), ``judge_min``/``judge_max`` (0 to 4), ``origin``
(``imported``, ``generated``, ``created``), ``gold`` (``yes``/``no``), ``q`` (full text
in prompts and answers) and ``ordering``. Anything else is refused with a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

from annotation.models import Assignment, Item
from annotation.states import State
from assist.models import Generation, Judgement
from checks.models import CheckResult, Outcome
from projects.access import ProjectAccess
from reviews.models import Review

PAGE_SIZE = 50
FILTERS = (
    "state",
    "stage",
    "tag",
    "queue",
    "import",
    "annotator",
    "reviewer",
    "check",
    "judge_min",
    "judge_max",
    "origin",
    "gold",
    "q",
)
# Query-string names that are not filters but are allowed next to them.
CONTROLS = ("ordering", "page", "format")
ORDERINGS = {
    "id": ("id",),
    "priority": ("priority", "id"),
    "created": ("created_at", "id"),
    "changed": ("state_changed_at", "id"),
    "state": ("state", "id"),
    "stage": ("stage", "id"),
    "judge": ("judge_score", "id"),
}
ORIGINS = ("imported", "generated", "created")

ERR_UNKNOWN = "Unknown filter(s): {names}. Filters are: {known}."
ERR_STATE = "state must be one of {states}."
ERR_NUMBER = "{name} must be a whole number."
ERR_JUDGE = "{name} must be a judge score from 0 to 4."
ERR_CHECK = "check must be name:outcome, the outcome one of pass, warn, fail (e.g. pii:fail)."
ERR_ORIGIN = "origin must be one of " + ", ".join(ORIGINS) + "."
ERR_GOLD = "gold must be yes or no."
ERR_TEXT = "{name} must be text of at most 1000 characters, without NUL characters."
ERR_ORDERING = "ordering must be one of {names} (a leading - sorts descending)."


class FilterError(ValueError):
    """A filter a person must correct; ``str()`` says how."""


@dataclass
class Filter:
    """Validated filters (``values``: the ones given, as given) and the ordering."""

    values: dict[str, str] = field(default_factory=dict)
    ordering: str = "id"

    def query_string(self) -> str:
        from urllib.parse import urlencode

        pairs = list(self.values.items())
        if self.ordering != "id":
            pairs.append(("ordering", self.ordering))
        return urlencode(pairs)


def _int(name: str, raw: str, low: int | None = None, high: int | None = None) -> int:
    text = raw.strip()
    if not text.lstrip("-").isdigit() or len(text) > 18:
        raise FilterError(ERR_NUMBER.format(name=name))
    value = int(text)
    if (low is not None and value < low) or (high is not None and value > high):
        raise FilterError(ERR_JUDGE.format(name=name))
    return value


def _validate_one(name: str, raw: str) -> None:
    if name == "state" and raw not in State.values:
        raise FilterError(ERR_STATE.format(states=", ".join(State.values)))
    if name in ("stage", "import") or (name == "queue" and raw != "default"):
        _int(name, raw)
    if name in ("judge_min", "judge_max"):
        _int(name, raw, 0, 4)
    if name == "check":
        check, _, outcome = raw.partition(":")
        if not check or outcome not in Outcome.values:
            raise FilterError(ERR_CHECK)
    if name == "origin" and raw not in ORIGINS:
        raise FilterError(ERR_ORIGIN)
    if name == "gold" and raw not in ("yes", "no"):
        raise FilterError(ERR_GOLD)


def parse(params: Mapping[str, Any]) -> Filter:
    """The filters in ``params`` (a QueryDict or a plain dict of strings), validated;
    :class:`FilterError` names the first problem. Empty values are ignored."""
    unknown = sorted(set(params) - set(FILTERS) - set(CONTROLS))
    if unknown:
        raise FilterError(ERR_UNKNOWN.format(names=", ".join(unknown), known=", ".join(FILTERS)))
    values: dict[str, str] = {}
    for name in FILTERS:
        raw = params.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        raw = str(raw).strip()
        if "\x00" in raw or len(raw) > 1000:
            raise FilterError(ERR_TEXT.format(name=name))
        _validate_one(name, raw)
        values[name] = raw
    ordering = str(params.get("ordering") or "id").strip()
    if ordering.lstrip("-") not in ORDERINGS:
        names = ", ".join(ORDERINGS)
        raise FilterError(ERR_ORDERING.format(names=names))
    return Filter(values, ordering)


# --- the queryset ------------------------------------------------------------------------


def judge_score() -> Coalesce:
    """The judge's score of the item's current revision: the judge check's result, else
    the latest judgement of that revision."""
    from_check = CheckResult.objects.filter(
        revision_id=OuterRef("current_revision_id"), name="judge"
    ).order_by("-id")
    from_judgement = Judgement.objects.filter(
        revision_id=OuterRef("current_revision_id"), score__isnull=False
    ).order_by("-id")
    return Coalesce(
        Subquery(from_check.annotate(s=Cast("details__score", IntegerField())).values("s")[:1]),
        Subquery(from_judgement.values("score")[:1]),
        output_field=IntegerField(),
    )


# The expressions of the indexes created by migration overview.0002, character for character.
FTS_SQL = (
    "(jsonb_to_tsvector('simple'::regconfig, annotation_item.source, '[\"string\"]'::jsonb) "
    "@@ plainto_tsquery('simple'::regconfig, %s)) OR annotation_item.current_revision_id IN "
    "(SELECT r.id FROM annotation_revision r WHERE "
    "jsonb_to_tsvector('simple'::regconfig, r.messages, '[\"string\"]'::jsonb) "
    "@@ plainto_tsquery('simple'::regconfig, %s))"
)
TAGGED_SQL = "EXISTS (SELECT 1 FROM json_each(annotation_item.tags) WHERE json_each.value = %s)"


def _text_search(items: QuerySet[Item], q: str) -> QuerySet[Item]:
    """Prompts and current answers containing ``q``: PostgreSQL full-text search through
    the indexes of migration ``overview.0002`` (same expressions), else a LIKE search."""
    if connection.vendor == "postgresql":
        # Constant SQL; only the search words are parameters.
        fts = RawSQL(FTS_SQL, [q, q], output_field=BooleanField())  # noqa: S611
        return items.alias(fts=fts).filter(Q(fts=True))
    return items.filter(Q(source__icontains=q) | Q(current_revision__messages__icontains=q))


def _tagged(items: QuerySet[Item], tag: str) -> QuerySet[Item]:
    if connection.vendor == "postgresql":
        return items.filter(tags__contains=[tag])  # the tags GIN index
    tagged = RawSQL(TAGGED_SQL, [tag], output_field=BooleanField())  # noqa: S611
    return items.alias(tagged=tagged).filter(Q(tagged=True))


def _origin(items: QuerySet[Item], origin: str) -> QuerySet[Item]:
    generated = Exists(Generation.objects.filter(item=OuterRef("pk"), applied=True))
    if origin == "imported":
        return items.filter(import_job__isnull=False)
    if origin == "generated":
        return items.filter(generated)
    return items.filter(import_job__isnull=True).exclude(generated)


def _apply(items: QuerySet[Item], name: str, raw: str) -> QuerySet[Item]:  # noqa: C901
    if name == "state":
        return items.filter(state=raw)
    if name == "stage":
        return items.filter(stage=int(raw))
    if name == "tag":
        return _tagged(items, raw)
    if name == "queue":
        if raw == "default":
            return items.filter(queue__isnull=True)
        return items.filter(queue_id=int(raw))
    if name == "import":
        return items.filter(import_job_id=int(raw))
    if name == "annotator":
        return items.filter(
            Exists(Assignment.objects.filter(item=OuterRef("pk"), user__username=raw))
        )
    if name == "reviewer":
        return items.filter(
            Exists(Review.objects.filter(item=OuterRef("pk"), reviewer__username=raw))
        )
    if name == "check":
        check, _, outcome = raw.partition(":")
        results = CheckResult.objects.filter(
            revision_id=OuterRef("current_revision_id"), name=check, outcome=outcome
        )
        return items.filter(Exists(results))
    if name == "judge_min":
        return items.filter(**{"judge_score__gte": int(raw)})  # annotated by filtered()
    if name == "judge_max":
        return items.filter(**{"judge_score__lte": int(raw)})
    if name == "origin":
        return _origin(items, raw)
    if name == "gold":
        return items.filter(is_gold=raw == "yes")
    return _text_search(items, raw)  # q


def visible_items(access: ProjectAccess, user: Any) -> QuerySet[Item]:
    """The project's items ``user`` may list: all for reviewers and admins, for an
    annotator the ones they have had a turn at."""
    items = Item.objects.filter(project=access.project)
    if not access.is_reviewer:
        items = items.filter(Exists(Assignment.objects.filter(item=OuterRef("pk"), user=user)))
    return items


def filtered(items: QuerySet[Item], flt: Filter) -> QuerySet[Item]:
    """``items`` narrowed by ``flt`` and in its order (with ``judge_score`` annotated
    when a judge filter or ordering needs it)."""
    needs_judge = "judge" in flt.ordering or {"judge_min", "judge_max"} & set(flt.values)
    if needs_judge:
        items = items.annotate(judge_score=judge_score())
    for name, raw in flt.values.items():
        items = _apply(items, name, raw)
    fields = ORDERINGS[flt.ordering.lstrip("-")]
    if flt.ordering.startswith("-"):
        fields = tuple("-" + f for f in fields)
    return items.order_by(*fields)
