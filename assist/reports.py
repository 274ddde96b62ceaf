"""What a judgement run says: the score distribution, the mean with its 95 % confidence
interval, the lowest-scored items, and breakdowns by tag, metadata field and prompt
length to find the subset that fails; and, between two runs over the same items, the
paired per-item deltas.

Confidence intervals use Student's t distribution (mean ± t₀.₉₇₅,ₙ₋₁ · s/√n), for a
run's scores and for the per-item deltas alike, clipped to the range the values can
take. Invalid answers and errors are counted apart and never enter a mean. Each report
reads its rows in one query, whatever the run's size.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annotation import messages as chat
from assist import judging
from assist.models import Judgement
from projects.models import Job

LOWEST = 10  # items listed as the lowest-scored
CHANGED = 10  # items listed as the ones that changed most between two runs
MAX_VALUES = 8  # a metadata field with more distinct values is not broken down
EXCERPT = 400
# (upper bound in characters, label) of the prompt length buckets.
LENGTH_BUCKETS = ((200, "under 200 chars"), (1000, "200-999 chars"), (4000, "1,000-3,999 chars"))
LONGEST = "4,000 chars or more"
SCORES = range(5)

# Two-sided 95 % quantiles of Student's t by degrees of freedom; above 30 the nearest
# lower row is used (cautious), and 1.96 past 120.
T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
    16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074,
    23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045,
    30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip


def t95(df: int) -> float:
    if df > 120:
        return 1.96
    return T95[max(k for k in T95 if k <= df)]


@dataclass(frozen=True)
class Mean:
    n: int
    mean: float | None
    low: float | None  # 95 % confidence interval; None under two values
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "ci95": [self.low, self.high]}


def mean_ci(values: Iterable[float], bounds: tuple[float, float] = (0.0, 4.0)) -> Mean:
    """The mean of ``values`` with its 95 % confidence interval (Student's t), clipped
    to ``bounds``, the range the values can take (0 to 4 for scores, -4 to 4 for
    deltas)."""
    data = list(values)
    if not data:
        return Mean(0, None, None, None)
    mean = statistics.fmean(data)
    if len(data) < 2:
        return Mean(1, round(mean, 3), None, None)
    half = t95(len(data) - 1) * statistics.stdev(data) / math.sqrt(len(data))
    low, high = max(bounds[0], mean - half), min(bounds[1], mean + half)
    return Mean(len(data), round(mean, 3), round(low, 3), round(high, 3))


def _rows(job: Job) -> list[Judgement]:
    """Every judgement of the run with what was judged (one query)."""
    return list(
        Judgement.objects.filter(job=job)
        .select_related("item", "revision", "generation")
        .order_by("item_id")
    )


def judged_text(row: Judgement) -> str:
    """The text the judge rated: a generation's output, a human answer or the draft."""
    if row.generation is not None:
        return row.generation.output
    if row.revision is not None:
        messages = row.revision.messages
        return chat.answer_text(messages if isinstance(messages, list) else [])
    return row.item.model_draft


def prompt_text(row: Judgement) -> str:
    source = row.item.source if isinstance(row.item.source, list) else []
    users = [m for m in source if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""


def _cut(text: str) -> str:
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def length_bucket(chars: int) -> str:
    return next((label for bound, label in LENGTH_BUCKETS if chars < bound), LONGEST)


def _group(label: str, scores: list[int]) -> dict[str, Any]:
    stats = mean_ci(scores)
    low = sum(1 for s in scores if s <= 1)
    return {
        "value": label,
        "n": stats.n,
        "mean": stats.mean,
        "low_share": round(low / stats.n, 3) if stats.n else None,
    }


def _groups(groups: Mapping[str, list[int]]) -> list[dict[str, Any]]:
    """One row per group, the worst first (lowest mean), so the failing subset is on top."""
    rows = [_group(label, scores) for label, scores in groups.items() if scores]
    return sorted(rows, key=lambda r: (r["mean"], -r["n"], r["value"]))


def breakdowns(scored: list[Judgement]) -> dict[str, Any]:
    """Scores by tag, by each metadata field with few distinct values, and by prompt
    length bucket: ``{tags: [...], metadata: {field: [...]}, length: [...]}``."""
    by_tag: dict[str, list[int]] = defaultdict(list)
    by_field: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_length: dict[str, list[int]] = defaultdict(list)
    for row in scored:
        score = int(row.score or 0)
        for tag in row.item.tags or []:
            by_tag[str(tag)].append(score)
        for key, value in (row.item.metadata or {}).items():
            if key != "prompt_parts" and isinstance(value, str | int | float | bool):
                by_field[key][str(value)].append(score)
        by_length[length_bucket(len(prompt_text(row)))].append(score)
    fields = {
        key: _groups(values)
        for key, values in sorted(by_field.items())
        if 2 <= len(values) <= MAX_VALUES
    }
    order = [label for _, label in LENGTH_BUCKETS] + [LONGEST]
    length = [_group(label, by_length[label]) for label in order if by_length.get(label)]
    return {"tags": _groups(by_tag), "metadata": fields, "length": length}


def _item_row(row: Judgement) -> dict[str, Any]:
    return {
        "item": row.item_id,
        "score": row.score,
        "label": judging.LABELS[row.score] if row.score is not None else "invalid",
        "reason": row.reason,
        "prompt": _cut(prompt_text(row)),
        "text": _cut(judged_text(row)),
    }


def run_info(job: Job) -> dict[str, Any]:
    params = job.params if isinstance(job.params, Mapping) else {}
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "total": job.total,
        "target": params.get("target"),
        "generation": params.get("generation"),
        "sample": params.get("sample"),
        "prompt": params.get("prompt"),
        "prompt_name": params.get("prompt_name", ""),
        "endpoint": params.get("endpoint"),
        "endpoint_name": params.get("endpoint_name", ""),
        "model": params.get("model", ""),
        "family": params.get("family", ""),
        "allow_same_family": bool(params.get("allow_same_family")),
        "override_note": judging.override_note(job),
        "result": job.result or {},
    }


def judgement_report(job: Job) -> dict[str, Any]:
    """Every figure of one run's report (one query for its rows)."""
    rows = _rows(job)
    scored = [r for r in rows if r.score is not None]
    errors = [r for r in rows if r.score is None and r.error]
    invalid = len(rows) - len(scored) - len(errors)
    counts = {str(s): 0 for s in SCORES}
    for row in scored:
        counts[str(row.score)] += 1
    biggest = max([*counts.values(), invalid, 1])
    distribution = [
        {"score": s, "label": judging.LABELS[s], "count": counts[str(s)]} for s in SCORES
    ]
    lowest = sorted(scored, key=lambda r: (r.score, r.item_id))[:LOWEST]
    return {
        "run": run_info(job),
        "n": len(rows),
        "distribution": distribution,
        "invalid": invalid,
        "errors": len(errors),
        "biggest": biggest,
        "mean": mean_ci(int(r.score or 0) for r in scored).as_dict(),
        "lowest": [_item_row(r) for r in lowest],
        "invalid_items": [
            {"item": r.item_id, "raw": _cut(r.raw)} for r in rows if r.score is None and not r.error
        ][:LOWEST],
        "breakdowns": breakdowns(scored),
    }


def compare_runs(a: Job, b: Job) -> dict[str, Any]:
    """Paired per-item deltas (B minus A) over the items both runs scored: the mean delta
    with its 95 % interval, wins (B higher), ties and losses, and the items that changed
    most. Two queries."""
    rows_a = {r.item_id: r for r in _rows(a)}
    rows_b = {r.item_id: r for r in _rows(b)}
    common = sorted(set(rows_a) & set(rows_b))
    pairs = [
        (rows_a[i], rows_b[i])
        for i in common
        if rows_a[i].score is not None and rows_b[i].score is not None
    ]
    deltas = [int(rb.score or 0) - int(ra.score or 0) for ra, rb in pairs]
    changed = sorted(
        pairs, key=lambda p: (-abs(int(p[1].score or 0) - int(p[0].score or 0)), p[0].item_id)
    )
    same_judge = (a.params or {}).get("prompt") == (b.params or {}).get("prompt") and (
        a.params or {}
    ).get("endpoint") == (b.params or {}).get("endpoint")
    return {
        "a": run_info(a),
        "b": run_info(b),
        "same_judge": same_judge,
        "common": len(common),
        "paired": len(pairs),
        "only_a": len(set(rows_a) - set(rows_b)),
        "only_b": len(set(rows_b) - set(rows_a)),
        "mean_a": mean_ci(int(ra.score or 0) for ra, _ in pairs).as_dict(),
        "mean_b": mean_ci(int(rb.score or 0) for _, rb in pairs).as_dict(),
        "delta": mean_ci(deltas, bounds=(-4.0, 4.0)).as_dict(),
        "wins": sum(1 for d in deltas if d > 0),
        "ties": sum(1 for d in deltas if d == 0),
        "losses": sum(1 for d in deltas if d < 0),
        "changed": [
            {
                "item": ra.item_id,
                "delta": int(rb.score or 0) - int(ra.score or 0),
                "a": _item_row(ra),
                "b": _item_row(rb),
            }
            for ra, rb in changed[:CHANGED]
            if rb.score != ra.score
        ],
    }
