"""The dashboard and balance figures of a project, as tables: each has a title, a
header, rows, and the (label, value) pairs its chart draws. The page, its CSV downloads
and ``GET /api/v1/projects/{id}/dashboard/`` all read :func:`dashboard_tables`, so they
never disagree."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.messages import answer_text
from annotation.models import Assignment, AssignmentStatus, Item, Transition
from annotation.states import State
from checks.models import CheckResult
from overview.models import TagTarget
from overview.selectors import project_stats
from projects.models import Project
from reviews.models import Decision, Review

DAYS = 14
LENGTH_BUCKETS = (100, 250, 500, 1000, 2000, 4000)


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart: list[tuple[str, float]] = field(default_factory=list)
    unit: str = "items"
    note: str = ""
    link: str = ""  # explorer query string per row label, with {label}


def worker_status() -> dict[str, str]:
    """Whether background work can run: in-process, or a broker with workers answering."""
    if not settings.REDIS_URL:
        return {"status": "in-process", "message": "Tasks run in the web process (no broker)."}
    cached = cache.get("overview:worker-status")
    if cached:
        return dict(cached)
    try:
        # The broker first, with a short timeout: a Celery ping to a dead broker retries.
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        replies = current_app.control.ping(timeout=0.5) or []
    except Exception as exc:  # the broker is down or unreachable
        status = {
            "status": "broker-down",
            "message": f"The broker cannot be reached ({exc.__class__.__name__}): "
            "no background work runs.",
        }
    else:
        status = (
            {"status": "ok", "message": f"{len(replies)} worker(s) answering."}
            if replies
            else {"status": "no-worker", "message": "No worker is running: jobs and checks wait."}
        )
    cache.set("overview:worker-status", status, 15)
    return status


def _progress(stats: dict[str, Any]) -> list[Table]:
    states = Table("states", "Items per state", ["state", "items"], link="state={label}")
    for value in State.values:
        states.rows.append([value, stats["states"][value]])
        states.chart.append((value, stats["states"][value]))
    stages = Table("stages", "Items in review per stage", ["stage", "name", "items"])
    for s in stats["stages"]:
        stages.rows.append([s["position"], s["name"], s["in_review"]])
        stages.chart.append((s["name"], s["in_review"]))
    return [states, stages]


def _throughput(project: Project, now: Any) -> Table:
    since = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Transition.objects.filter(item__project=project, at__gte=since)
        .annotate(day=TruncDate("at"))
        .values("day")
        .annotate(
            submitted=Count("id", filter=Q(to_state=State.SUBMITTED)),
            approved=Count("id", filter=Q(to_state=State.APPROVED)),
            returned=Count("id", filter=Q(to_state=State.RETURNED)),
        )
        .order_by("day")
    )
    by_day = {r["day"]: r for r in rows}
    table = Table(
        "throughput",
        f"Throughput per day (last {DAYS} days)",
        ["day", "submitted", "approved", "returned"],
    )
    for i in range(DAYS):
        day = (since + timedelta(days=i)).date()
        r = by_day.get(day, {})
        table.rows.append(
            [day.isoformat(), r.get("submitted", 0), r.get("approved", 0), r.get("returned", 0)]
        )
        table.chart.append((day.strftime("%m-%d") + " approved", r.get("approved", 0)))
    return table


def _queue_health(project: Project, now: Any) -> Table:
    leases = Assignment.objects.filter(
        item__project=project, status=AssignmentStatus.ACTIVE
    ).aggregate(
        active=Count("id", filter=Q(expires_at__gt=now)),
        expired=Count("id", filter=Q(expires_at__lte=now)),
    )
    waiting = Item.objects.filter(project=project, state=State.SUBMITTED).count()
    worker = worker_status()
    table = Table("queue", "Queue health", ["figure", "value"])
    table.rows = [
        ["active leases", leases["active"]],
        ["expired leases not yet returned", leases["expired"]],
        ["items waiting on checks", waiting],
        ["workers", worker["message"]],
    ]
    table.chart = [
        ("active leases", leases["active"]),
        ("expired", leases["expired"]),
        ("waiting on checks", waiting),
    ]
    table.note = worker["status"]
    return table


def _rejections(project: Project) -> Table:
    reasons: Counter[str] = Counter()
    rejects = Review.objects.filter(item__project=project, decision=Decision.REJECT)
    for codes in rejects.values_list("reasons", flat=True).iterator(chunk_size=5000):
        reasons.update(codes or ["(no reason given)"])
    table = Table("rejections", "Rejection reasons", ["reason", "rejections"], unit="rejections")
    for reason, n in reasons.most_common(20):
        table.rows.append([reason, n])
        table.chart.append((reason, n))
    return table


def _checks(stats: dict[str, Any]) -> Table:
    table = Table(
        "checks",
        "Failing checks",
        ["check", "results", "failed", "warned", "failure rate"],
        unit="failed results",
        link="check={label}:fail",
    )
    for c in stats["checks"]:
        table.rows.append([c["name"], c["total"], c["failed"], c["warned"], c["failure_rate"]])
        table.chart.append((c["name"], c["failed"]))
    return table


def _bucket(n: int) -> str:
    for limit in LENGTH_BUCKETS:
        if n < limit:
            return f"< {limit}"
    return f"≥ {LENGTH_BUCKETS[-1]}"


def _balance(project: Project) -> list[Table]:
    """Lengths, turns and tags over every item: read once, in chunks."""
    prompts: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    turns: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    rows = Item.objects.filter(project=project).values_list(
        "source", "current_revision__messages", "tags"
    )
    for source, messages, item_tags in rows.iterator(chunk_size=2000):
        chat = messages or source or []
        prompts[
            _bucket(
                sum(len(str(m.get("content", ""))) for m in chat if m.get("role") != "assistant")
            )
        ] += 1
        if messages:
            answers[_bucket(len(answer_text(messages)))] += 1
        users = sum(1 for m in chat if m.get("role") == "user")
        turns["multi-turn" if users > 1 else "single-turn"] += 1
        tags.update(item_tags or [])
    order = [f"< {b}" for b in LENGTH_BUCKETS] + [f"≥ {LENGTH_BUCKETS[-1]}"]
    out = []
    for key, title, counts in (
        ("prompt_lengths", "Prompt length (characters)", prompts),
        ("answer_lengths", "Answer length (characters)", answers),
    ):
        t = Table(key, title, ["characters", "items"])
        t.rows = [[b, counts.get(b, 0)] for b in order]
        t.chart = [(b, counts.get(b, 0)) for b in order]
        out.append(t)
    t = Table("turns", "Single vs multi-turn", ["kind", "items"])
    t.rows = [[k, turns.get(k, 0)] for k in ("single-turn", "multi-turn")]
    t.chart = [(k, v) for k, v in t.rows]
    out.append(t)
    out.append(_tags(project, tags, sum(turns.values())))
    return out


def _tags(project: Project, tags: Counter[str], total: int) -> Table:
    """Tag counts against the admin's targets ("at least 200", "at most 30 %")."""
    targets = {t.tag: t for t in TagTarget.objects.filter(project=project)}
    t = Table(
        "tags",
        "Tags against their targets",
        ["tag", "items", "share", "target", "status"],
        link="tag={label}",
    )
    names = [k for k, _ in tags.most_common(30)]
    names += sorted(set(targets) - set(names))
    for name in names:
        n = tags.get(name, 0)
        share = round(n / total, 3) if total else 0.0
        target, status = targets.get(name), "no target"
        wanted = []
        if target is not None:
            problems = []
            if target.min_items is not None:
                wanted.append(f"at least {target.min_items}")
                if n < target.min_items:
                    problems.append(f"{target.min_items - n} short")
            if target.max_share is not None:
                wanted.append(f"at most {round(target.max_share * 100)} %")
                if share > target.max_share:
                    problems.append("over its share")
            status = ", ".join(problems) or "met"
        t.rows.append([name, n, share, " and ".join(wanted), status])
        t.chart.append((name, n))
    return t


def _turnaround(project: Project) -> Table:
    """Median hours from an item reaching a stage to its review, per stage."""
    times: dict[int, list[float]] = defaultdict(list)
    rows = Review.objects.filter(item__project=project, visit__isnull=False).values_list(
        "stage", "visit__opened_at", "created_at"
    )
    for stage, opened, decided in rows.iterator(chunk_size=5000):
        times[stage].append((decided - opened).total_seconds() / 3600)
    t = Table(
        "turnaround",
        "Review turnaround (median hours)",
        ["stage", "reviews", "median hours"],
        unit="hours",
    )
    for stage in sorted(times):
        value = round(median(times[stage]), 2)
        t.rows.append([stage + 1, len(times[stage]), value])
        t.chart.append((f"stage {stage + 1}", value))
    return t


def _rubric(project: Project) -> Table:
    """How often each rubric score was given, per criterion."""
    counts: Counter[tuple[str, str]] = Counter()
    rows = Review.objects.filter(item__project=project).values_list("scores", flat=True)
    for scores in rows.iterator(chunk_size=5000):
        for key, value in (scores or {}).items():
            counts[(str(key), str(value))] += 1
    t = Table("rubric", "Rubric scores given", ["criterion", "score", "reviews"], unit="reviews")
    for (key, value), n in sorted(counts.items()):
        t.rows.append([key, value, n])
        t.chart.append((f"{key} = {value}", n))
    return t


def _duplicates(project: Project) -> Table:
    groups = (
        Item.objects.filter(project=project)
        .exclude(prompt_hash="")
        .values("prompt_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("-n", "prompt_hash")[:20]
    )
    table = Table(
        "duplicates",
        "Identical prompts, largest groups first",
        ["prompt fingerprint", "items"],
        note="Groups of items whose prompts are identical after normalisation.",
    )
    for g in groups:
        table.rows.append([g["prompt_hash"][:12], g["n"]])
        table.chart.append((g["prompt_hash"][:12], g["n"]))
    return table


def _languages(project: Project) -> Table:
    rows = (
        CheckResult.objects.filter(
            name="language",
            revision__item__project=project,
            revision__item__current_revision=F("revision_id"),
        )
        .values("details__detected")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    table = Table(
        "languages",
        "Language of the answers (language check)",
        ["language", "answers"],
        unit="answers",
    )
    for r in rows:
        label = r["details__detected"] or "undetermined"
        table.rows.append([label, r["n"]])
        table.chart.append((label, r["n"]))
    return table


def dashboard_tables(project: Project) -> list[Table]:
    """Every dashboard and balance table, in page order."""
    now = timezone.now()
    stats = project_stats(project)
    return [
        *_progress(stats),
        _throughput(project, now),
        _queue_health(project, now),
        _turnaround(project),
        _rejections(project),
        _rubric(project),
        _checks(stats),
        *_balance(project),
        _duplicates(project),
        _languages(project),
    ]


def dashboard_payload(project: Project) -> dict[str, Any]:
    """Every table as the API returns it: ``{key: {title, header, rows, note}}``."""
    return {
        t.key: {"title": t.title, "header": t.header, "rows": t.rows, "note": t.note}
        for t in dashboard_tables(project)
    }
