"""How far the judge model agrees with people: per judge prompt version, against each
human signal on the same answer (revision), the number of pairs, exact agreement,
Cohen's κ, Kendall's τ-b and the confusion matrix (judge score rows x human columns).

Where the judge's scores come from: ``assist.Judgement`` rows on a revision (a judge
run over human answers) and the ``judge`` check's results (``details["score"]`` and
``details["prompt"]``). One verdict counts per prompt version and revision: the latest.
A verdict whose score is missing (the judge's answer could not be read) is *invalid*:
left out of every figure and counted on its own.

The human signals, each mapped to the judge's scale:

- ``decision``: the last approve or reject of the revision by a reviewer (edits and
  flags say something else and are left out). For κ and exact agreement the judge is
  binarised: a score of ``JUDGE_APPROVES_AT`` (2, "moderate") or more counts as approve;
  κ is then unweighted (two categories have no distance to weigh). τ-b uses the judge's
  five scores against reject < approve. The matrix keeps the five score rows.
- ``rubric``: the mean of a review's rubric scores (1 to 5), mapped to 0-4 as
  ``round(mean - 1)`` with halves rounded up; the revision's last scored review counts.
- ``gold``: a gold answer's word similarity to the reference (0 to 1) in five equal
  buckets: below 0.2 → 0, below 0.4 → 1, below 0.6 → 2, below 0.8 → 3, from 0.8 → 4.
  (The gold reviewer score is the rubric again, so it is not counted twice.)

For the five-point signals κ uses quadratic weights: a judge one point off is a small
disagreement, four points off a large one. Under ``MIN_PAIRS`` pairs no figure is given
(``enough`` false): a κ from a handful of answers says nothing. The statistics are
computed here from the confusion matrix, in plain Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from assist.models import Judgement, PromptKind, PromptVersion
from checks.models import CheckResult
from projects.models import Project
from reviews.models import Decision, GoldScore, Review

MIN_PAIRS = 20
JUDGE_APPROVES_AT = 2
JUDGE_CHECK = "judge"
SCORES = (0, 1, 2, 3, 4)
SIGNALS = ("decision", "rubric", "gold")
COLUMNS: dict[str, list[Any]] = {
    "decision": ["reject", "approve"],
    "rubric": list(SCORES),
    "gold": list(SCORES),
}

Matrix = list[list[int]]


# --- Statistics -----------------------------------------------------------------------


def confusion(pairs: Iterable[tuple[int, int]], rows: int, columns: int) -> Matrix:
    """Counts of ``(row, column)`` pairs, categories numbered from 0."""
    matrix = [[0] * columns for _ in range(rows)]
    for row, column in pairs:
        matrix[row][column] += 1
    return matrix


def _total(matrix: Matrix) -> int:
    return sum(map(sum, matrix))


def exact_agreement(matrix: Matrix) -> float | None:
    """The share of pairs on the diagonal of a square matrix."""
    n = _total(matrix)
    return sum(matrix[i][i] for i in range(len(matrix))) / n if n else None


def cohen_kappa(matrix: Matrix, *, quadratic: bool = False) -> float | None:
    """Cohen's κ of a square matrix (rater A rows, rater B columns, same ordered
    categories): 1 - observed / chance-expected disagreement, with disagreement weighted
    by the squared distance of the categories when ``quadratic`` (weighted κ), else 1
    for every off-diagonal cell. ``None`` when chance disagreement is nil (both raters
    used a single category)."""
    k = len(matrix)
    n = _total(matrix)
    if n == 0 or k < 2:
        return None
    rows = [sum(r) for r in matrix]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]

    def weight(i: int, j: int) -> float:
        return ((i - j) / (k - 1)) ** 2 if quadratic else float(i != j)

    cells = [(i, j) for i in range(k) for j in range(k)]
    observed = sum(weight(i, j) * matrix[i][j] for i, j in cells) / n
    expected = sum(weight(i, j) * rows[i] * cols[j] for i, j in cells) / (n * n)
    return None if expected == 0 else 1 - observed / expected


def kendall_tau_b(matrix: Matrix) -> float | None:
    """Kendall's τ-b of two ordinal ratings given as their contingency table (rows and
    columns in ascending order): (concordant - discordant pairs) / √((pairs - ties in
    rows)(pairs - ties in columns)). ``None`` when either rating is constant."""
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    concordant = discordant = 0
    for i in range(rows):
        for j in range(cols):
            if not matrix[i][j]:
                continue
            for i2 in range(i + 1, rows):
                below = matrix[i2]
                concordant += matrix[i][j] * sum(below[j + 1 :])
                discordant += matrix[i][j] * sum(below[:j])
    n = _total(matrix)
    pairs = n * (n - 1) // 2
    row_ties = sum(t * (t - 1) // 2 for t in (sum(r) for r in matrix))
    col_ties = sum(
        t * (t - 1) // 2 for t in (sum(matrix[i][j] for i in range(rows)) for j in range(cols))
    )
    denominator = math.sqrt((pairs - row_ties) * (pairs - col_ties))
    return None if denominator == 0 else (concordant - discordant) / denominator


def binarised(matrix: Matrix) -> Matrix:
    """A judge-scores x (reject, approve) matrix as judge (reject, approve) x the same:
    scores below ``JUDGE_APPROVES_AT`` count as reject."""
    low = [sum(col) for col in zip(*matrix[:JUDGE_APPROVES_AT], strict=True)]
    high = [sum(col) for col in zip(*matrix[JUDGE_APPROVES_AT:], strict=True)]
    return [low, high]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def figures(signal: str, scores: Sequence[int | None], human: Sequence[int]) -> dict[str, Any]:
    """The figures for one judge version against one human signal, from the paired
    judge ``scores`` (``None``: invalid) and ``human`` categories."""
    valid = [(s, h) for s, h in zip(scores, human, strict=True) if s is not None]
    matrix = confusion(valid, len(SCORES), len(COLUMNS[signal]))
    enough = len(valid) >= MIN_PAIRS
    square = binarised(matrix) if signal == "decision" else matrix
    quadratic = signal != "decision"
    return {
        "n": len(valid),
        "invalid": len(scores) - len(valid),
        "enough": enough,
        "agreement": _rounded(exact_agreement(square)) if enough else None,
        "kappa": _rounded(cohen_kappa(square, quadratic=quadratic)) if enough else None,
        "kappa_weights": "quadratic" if quadratic else "none",
        "tau_b": _rounded(kendall_tau_b(matrix)) if enough else None,
        "rows": list(SCORES),
        "columns": COLUMNS[signal],
        "matrix": matrix,
    }


def strength(kappa: float | None) -> str:
    """κ in words, on Landis and Koch's scale."""
    if kappa is None:
        return ""
    for bound, words in ((0.8, "almost perfect"), (0.6, "substantial"), (0.4, "moderate")):
        if kappa > bound:
            return words
    return "fair" if kappa > 0.2 else "slight" if kappa > 0 else "none beyond chance"


# --- Reading the project --------------------------------------------------------------


def _judge_score(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 4 else None


def _prompt_id(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def judge_verdicts(project: Project, prompts: set[int]) -> dict[int, dict[int, int | None]]:
    """Per prompt version id, per revision id: the latest judge score (``None``: invalid).
    Two queries."""
    found: list[tuple[Any, int, int, int | None]] = []
    for prompt, revision, score, at in Judgement.objects.filter(
        item__project=project, revision__isnull=False
    ).values_list("prompt_id", "revision_id", "score", "created_at"):
        found.append((at, prompt, revision, _judge_score(score)))
    for revision, details, at in CheckResult.objects.filter(
        name=JUDGE_CHECK, revision__item__project=project
    ).values_list("revision_id", "details", "created_at"):
        details = details if isinstance(details, dict) else {}
        prompt_id = _prompt_id(details.get("prompt"))
        if prompt_id is not None:
            found.append((at, prompt_id, revision, _judge_score(details.get("score"))))
    verdicts: dict[int, dict[int, int | None]] = {}
    for _at, prompt, revision, score in sorted(found, key=lambda row: row[0]):
        if prompt in prompts:
            verdicts.setdefault(prompt, {})[revision] = score
    return verdicts


def rubric_bucket(scores: Any) -> int | None:
    """A review's rubric scores (1 to 5) as one point of the judge's scale (0 to 4)."""
    if not isinstance(scores, dict):
        return None
    values = [v for v in scores.values() if isinstance(v, int | float) and 1 <= v <= 5]
    if not values:
        return None
    return min(4, max(0, math.floor(sum(values) / len(values) - 1 + 0.5)))


def gold_bucket(similarity: float) -> int:
    """A gold answer's similarity to the reference (0 to 1) as 0 to 4."""
    return min(4, max(0, math.floor(similarity * 5)))


def human_signals(project: Project) -> dict[str, dict[int, int]]:
    """Per signal, per revision id: the people's verdict on the judge's scale (decisions:
    0 reject, 1 approve). Two queries."""
    signals: dict[str, dict[int, int]] = {name: {} for name in SIGNALS}
    decisions = {Decision.REJECT.value: 0, Decision.APPROVE.value: 1}
    reviews = Review.objects.filter(item__project=project).order_by("id")
    for revision, decision, scores in reviews.values_list("revision_id", "decision", "scores"):
        if decision in decisions:
            signals["decision"][revision] = decisions[decision]
        bucket = rubric_bucket(scores)
        if bucket is not None:
            signals["rubric"][revision] = bucket
    for revision, similarity in GoldScore.objects.filter(item__project=project).values_list(
        "revision_id", "similarity"
    ):
        signals["gold"][revision] = gold_bucket(similarity)
    return signals


def calibration(project: Project) -> dict[str, Any]:
    """Per judge prompt version (newest first; every judge-kind version, and any other
    version the judge check names): how many answers it judged, how many of its answers
    were invalid, and the figures against each human signal. Five queries."""
    prompts = list(PromptVersion.objects.filter(project=project).values_list("id", "name", "kind"))
    verdicts = judge_verdicts(project, {pk for pk, _name, _kind in prompts})
    signals = human_signals(project)
    versions = []
    for pk, name, kind in prompts:
        judged = verdicts.get(pk, {})
        if kind != PromptKind.JUDGE and not judged:
            continue
        per_signal = {}
        for signal, verdict in signals.items():
            shared = [r for r in judged if r in verdict]
            per_signal[signal] = figures(
                signal, [judged[r] for r in shared], [verdict[r] for r in shared]
            )
        versions.append(
            {
                "prompt": {"id": pk, "name": name},
                "judged": len(judged),
                "invalid": sum(1 for s in judged.values() if s is None),
                "signals": per_signal,
            }
        )
    return {
        "min_pairs": MIN_PAIRS,
        "judge_approves_at": JUDGE_APPROVES_AT,
        "versions": versions,
    }


# --- As text --------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables: one row per judge version and signal, then each
    version's confusion matrix against reviewer decisions."""
    lines = [
        "| Judge prompt | Human signal | n | invalid | exact agreement | κ | weights "
        "| Kendall τ-b |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for version in report["versions"]:
        for signal, f in version["signals"].items():
            agreement, kappa, tau = map(_figure, [f["agreement"], f["kappa"], f["tau_b"]])
            if not f["enough"]:
                agreement = f"not enough data (< {report['min_pairs']})"
            cells = [agreement, kappa, f["kappa_weights"], tau]
            row = [version["prompt"]["name"], signal, str(f["n"]), str(f["invalid"]), *cells]
            lines.append("| " + " | ".join(row) + " |")
    for version in report["versions"]:
        f = version["signals"]["decision"]
        lines += [
            "",
            f"Confusion matrix, {version['prompt']['name']} (judge score x reviewer decision):",
            "",
            "| judge score | " + " | ".join(map(str, f["columns"])) + " |",
            "| ---: |" + " ---: |" * len(f["columns"]),
        ]
        for score, counts in zip(f["rows"], f["matrix"], strict=True):
            lines.append(f"| {score} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines)
