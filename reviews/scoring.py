"""Measures of quality that reviews produce: gold answers scored against their
reference (by word similarity, and by the reviewer's rubric), and how far two
reviewers of the same item at the same stage agree."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from annotation.messages import answer_text
from annotation.models import Item, Revision, RevisionKind
from projects.models import Project
from reviews.models import Decision, GoldScore, Review, ReviewAgreement

ACCEPTING = frozenset({Decision.APPROVE, Decision.EDIT})


def similarity(a: str, b: str) -> float:
    """Word-level similarity of two texts, 0 (nothing shared) to 1 (same words in the
    same order), case-insensitive."""
    wa, wb = a.lower().split(), b.lower().split()
    if not wa and not wb:
        return 1.0
    return round(difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio(), 4)


def score_gold(item: Item) -> list[GoldScore]:
    """Score every annotator submission of gold ``item`` not scored yet."""
    scored = GoldScore.objects.filter(item=item).values("revision_id")
    revisions = Revision.objects.filter(item=item, kind=RevisionKind.SUBMISSION).exclude(
        pk__in=scored
    )
    rows = [
        GoldScore(
            item=item,
            revision=r,
            annotator_id=r.author_id,
            similarity=similarity(answer_text(r.messages), item.reference),
        )
        for r in revisions
    ]
    return GoldScore.objects.bulk_create(rows, ignore_conflicts=True)


def score_gold_review(revision: Revision, scores: Mapping[str, int]) -> None:
    """Record the reviewer's rubric ``scores`` of a gold answer as its reviewer score
    (their mean, 0 to 1). No scores, no change."""
    if scores:
        mean = sum(scores.values()) / len(scores) / 5
        GoldScore.objects.filter(revision=revision).update(reviewer_score=round(mean, 4))


def _decisions_agree(a: str, b: str) -> bool:
    """Both accept, or both refuse; a rejection and a flag refuse differently."""
    return (a in ACCEPTING) == (b in ACCEPTING) and not ({a, b} >= {Decision.REJECT, Decision.FLAG})


def _rubric_agreement(a: Mapping[str, int], b: Mapping[str, int]) -> float | None:
    """1 minus the mean score gap over the criteria both scored (scaled to 0..1);
    ``None`` when they share none."""
    shared = set(a) & set(b)
    if not shared:
        return None
    gap = sum(abs(int(a[k]) - int(b[k])) for k in shared)
    return round(1 - gap / (4 * len(shared)), 4)


def record_agreement(project: Project, review: Review) -> list[ReviewAgreement]:
    """Record how ``review`` agrees with each earlier review at the same stay."""
    rows = [
        ReviewAgreement(
            project=project,
            stage=review.stage,
            first=earlier,
            second=review,
            decision_agrees=_decisions_agree(earlier.decision, review.decision),
            rubric_agreement=_rubric_agreement(earlier.scores, review.scores),
        )
        for earlier in Review.objects.filter(visit_id=review.visit_id).exclude(pk=review.pk)
    ]
    return ReviewAgreement.objects.bulk_create(rows)
