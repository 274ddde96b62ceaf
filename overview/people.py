"""People figures: per annotator and per reviewer, each a fixed number of grouped
queries (one per figure, grouped by person), whatever the number of people."""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import Any

from django.db.models import Avg, Count, Q

from annotation.models import Assignment, AssignmentStatus, Revision, RevisionKind
from assist.models import Judgement
from checks.models import CheckResult
from projects.models import Project
from reviews.models import Decision, Review, ReviewAgreement
from reviews.selectors import gold_scores

ACCEPTING = [Decision.APPROVE, Decision.EDIT]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _active_times(project: Project) -> dict[str, list[float]]:
    """Seconds per finished turn: actively editing when recorded, else leased to
    submitted."""
    times: dict[str, list[float]] = defaultdict(list)
    rows = Assignment.objects.filter(
        item__project=project, status=AssignmentStatus.SUBMITTED, finished_at__isnull=False
    ).values_list("user__username", "active_seconds", "leased_at", "finished_at")
    for name, active, leased, finished in rows.iterator(chunk_size=5000):
        if active:
            times[name].append(float(active))
        elif finished is not None:
            times[name].append((finished - leased).total_seconds())
    return times


def annotator_figures(project: Project) -> list[dict[str, Any]]:
    """Per annotator: submitted, approval rate per stage, rework rate, median active
    time, gold score, check-failure rate and mean judge score."""
    mine = Q(revision__item__project=project, revision__kind=RevisionKind.SUBMISSION)
    submitted = dict(
        Revision.objects.filter(item__project=project, kind=RevisionKind.SUBMISSION)
        .values_list("author__username")
        .annotate(n=Count("item", distinct=True))
        .values_list("author__username", "n")
    )
    stages: dict[str, dict[int, dict[str, int]]] = defaultdict(dict)
    reworked: dict[str, int] = defaultdict(int)
    for name, stage, total, accepted, rejected_items in (
        Review.objects.filter(mine)
        .values_list("revision__author__username", "stage")
        .annotate(
            total=Count("id"),
            accepted=Count("id", filter=Q(decision__in=ACCEPTING)),
            rejected=Count("item", filter=Q(decision=Decision.REJECT), distinct=True),
        )
        .values_list("revision__author__username", "stage", "total", "accepted", "rejected")
    ):
        stages[name][stage] = {"reviews": total, "approved": accepted}
        reworked[name] += rejected_items
    checks = {
        name: (total, failed)
        for name, total, failed in CheckResult.objects.filter(mine)
        .values_list("revision__author__username")
        .annotate(
            total=Count("revision", distinct=True),
            failed=Count("revision", filter=Q(outcome="fail"), distinct=True),
        )
        .values_list("revision__author__username", "total", "failed")
    }
    judge = dict(
        Judgement.objects.filter(mine, score__isnull=False)
        .values_list("revision__author__username")
        .annotate(mean=Avg("score"))
        .values_list("revision__author__username", "mean")
    )
    gold = {g["username"]: g for g in gold_scores(project)}
    times = _active_times(project)
    names = sorted(n for n in set(submitted) | set(times) if n)
    rows = []
    for name in names:
        done = submitted.get(name, 0)
        total, failed = checks.get(name, (0, 0))
        rows.append(
            {
                "username": name,
                "submitted": done,
                "stages": {
                    s: {**v, "rate": _rate(v["approved"], v["reviews"])}
                    for s, v in sorted(stages[name].items())
                },
                "reworked": reworked.get(name, 0),
                "rework_rate": _rate(reworked.get(name, 0), done),
                "median_seconds": round(median(times[name])) if times.get(name) else None,
                "gold": gold[name]["similarity"] if name in gold else None,
                "check_failures": failed,
                "check_failure_rate": _rate(failed, total),
                "judge": round(judge[name], 2) if judge.get(name) is not None else None,
            }
        )
    return rows


def reviewer_figures(project: Project) -> list[dict[str, Any]]:
    """Per reviewer: reviews, decisions, median time from the item reaching the stage
    to the decision, and agreement with the other reviewers of the same items."""
    reviews = Review.objects.filter(item__project=project, reviewer__isnull=False)
    counts = {
        r["reviewer__username"]: r
        for r in reviews.values("reviewer__username").annotate(
            reviews=Count("id"),
            approve=Count("id", filter=Q(decision=Decision.APPROVE)),
            reject=Count("id", filter=Q(decision=Decision.REJECT)),
            edit=Count("id", filter=Q(decision=Decision.EDIT)),
        )
    }
    times: dict[str, list[float]] = defaultdict(list)
    for name, opened, decided in (
        reviews.filter(visit__isnull=False)
        .values_list("reviewer__username", "visit__opened_at", "created_at")
        .iterator(chunk_size=5000)
    ):
        times[name].append((decided - opened).total_seconds())
    agree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pairs = ReviewAgreement.objects.filter(project=project).values_list(
        "first__reviewer__username", "second__reviewer__username", "decision_agrees"
    )
    for first, second, agrees in pairs.iterator(chunk_size=5000):
        for name in {first, second} - {None}:
            agree[name][0] += int(agrees)
            agree[name][1] += 1
    rows = []
    for name, r in sorted(counts.items()):
        agreeing, total = agree.get(name, [0, 0])
        rows.append(
            {
                "username": name,
                "reviews": r["reviews"],
                "approve": r["approve"],
                "reject": r["reject"],
                "edit": r["edit"],
                "approve_rate": _rate(r["approve"] + r["edit"], r["reviews"]),
                "median_seconds": round(median(times[name])) if times.get(name) else None,
                "agreement": _rate(agreeing, total),
                "pairs": total,
            }
        )
    return rows


ANNOTATOR_SORTS = (
    "username",
    "submitted",
    "rework_rate",
    "median_seconds",
    "gold",
    "check_failure_rate",
    "judge",
)
REVIEWER_SORTS = ("username", "reviews", "approve_rate", "median_seconds", "agreement")


def sort_rows(
    rows: list[dict[str, Any]], key: str, allowed: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Rows by ``key`` (a leading ``-``: descending), missing figures last."""
    name = key.lstrip("-")
    if name not in allowed:
        return rows
    present = [r for r in rows if r.get(name) is not None]
    missing = [r for r in rows if r.get(name) is None]
    present.sort(key=lambda r: r[name], reverse=key.startswith("-"))
    return present + missing
