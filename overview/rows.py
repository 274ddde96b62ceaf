"""One page of explorer rows, read in a fixed number of queries (the items, then one
query each for their annotators, reviewers, check results and judgements), whatever the
number of rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from annotation.messages import answer_text, first_user_text
from annotation.models import Assignment, Item
from assist.models import Judgement
from checks.models import CheckResult
from reviews.models import Review

EXCERPT = 140
OUTCOME_RANK = {"pass": 0, "warn": 1, "fail": 2}


def excerpt(text: str, size: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def _prompt(item: Item) -> str:
    messages = item.current_revision.messages if item.current_revision else item.source
    return first_user_text(messages) or first_user_text(item.source)


@dataclass
class Row:
    item: Item
    prompt: str
    answer: str
    prompt_chars: int
    answer_chars: int
    turns: int
    annotators: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    worst: str | None = None
    judge: int | None = None
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        item = self.item
        return {
            "id": item.pk,
            "external_id": item.external_id,
            "state": item.state,
            "stage": item.stage,
            "priority": item.priority,
            "tags": item.tags,
            "is_gold": item.is_gold,
            "queue": item.queue.name if item.queue else None,
            "import": item.import_job_id,
            "revision": item.current_revision_id,
            "prompt": self.prompt,
            "answer": self.answer,
            "prompt_chars": self.prompt_chars,
            "answer_chars": self.answer_chars,
            "turns": self.turns,
            "annotators": self.annotators,
            "reviewers": self.reviewers,
            "checks": self.checks,
            "worst_check": self.worst,
            "judge_score": self.judge,
            "language": self.language,
            "created_at": item.created_at.isoformat(),
            "state_changed_at": item.state_changed_at.isoformat(),
            "source": item.source,
        }


def _people(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    annotators: dict[int, list[str]] = defaultdict(list)
    for item_id, name in (
        Assignment.objects.filter(item_id__in=ids)
        .order_by("id")
        .values_list("item_id", "user__username")
    ):
        annotators[item_id].append(name)
    reviewers: dict[int, list[str]] = defaultdict(list)
    for item_id, name in (
        Review.objects.filter(item_id__in=ids, reviewer__isnull=False)
        .order_by("id")
        .values_list("item_id", "reviewer__username")
    ):
        if name not in reviewers[item_id]:
            reviewers[item_id].append(name)
    return annotators, reviewers


def build_rows(items: Sequence[Item]) -> list[Row]:
    """Rows for ``items`` (read with ``current_revision`` and ``queue`` joined)."""
    ids = [i.pk for i in items]
    revisions = [i.current_revision_id for i in items if i.current_revision_id]
    annotators, reviewers = _people(ids)
    checks: dict[int, dict[str, str]] = defaultdict(dict)
    judge: dict[int, int] = {}
    language: dict[int, str] = {}
    for rev, name, outcome, details in (
        CheckResult.objects.filter(revision_id__in=revisions)
        .order_by("id")
        .values_list("revision_id", "name", "outcome", "details")
    ):
        checks[rev][name] = outcome
        details = details if isinstance(details, dict) else {}
        if name == "judge" and isinstance(details.get("score"), int):
            judge[rev] = details["score"]
        if name == "language" and details.get("detected"):
            language[rev] = str(details["detected"])
    missing = [r for r in revisions if r not in judge]
    if missing:
        for judged, score in (
            Judgement.objects.filter(revision_id__in=missing, score__isnull=False)
            .order_by("id")
            .values_list("revision_id", "score")
        ):
            if judged is not None and score is not None:
                judge[judged] = score  # the latest wins
    rows = []
    for item in items:
        current = item.current_revision_id
        messages = item.current_revision.messages if item.current_revision else item.source
        prompt, answer = _prompt(item), answer_text(messages)
        outcomes = checks.get(current or 0, {})
        worst = max(outcomes.values(), key=lambda o: OUTCOME_RANK.get(o, 0)) if outcomes else None
        rows.append(
            Row(
                item=item,
                prompt=excerpt(prompt),
                answer=excerpt(answer),
                prompt_chars=sum(
                    len(str(m.get("content", ""))) for m in messages if m.get("role") != "assistant"
                ),
                answer_chars=len(answer),
                turns=sum(1 for m in messages if m.get("role") == "user"),
                annotators=annotators.get(item.pk, []),
                reviewers=reviewers.get(item.pk, []),
                checks=outcomes,
                worst=worst,
                judge=judge.get(current or 0),
                language=language.get(current or 0),
            )
        )
    return rows


def page_items(items: Any) -> Any:
    """The joins every explorer page needs."""
    return items.select_related("current_revision", "queue")
