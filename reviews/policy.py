"""Writes for a project's review policy: its ordered review stages, the rubric reviewers
score, the reason codes a rejection names, and the gold items with their reference
answers and the rate at which annotators are served them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from annotation.models import Item
from projects.models import Membership, Project, Role
from reviews.models import ReasonCode, ReviewStage, RubricCriterion

# Messages a person understands; tests import them.
NO_STAGES = "A review policy needs at least one stage."
TOO_MANY_STAGES = "A review policy has at most 10 stages."
STAGE_NAME = "Every stage needs a name."
STAGE_NAMES_UNIQUE = "Stage names must differ from each other."
SAMPLE_RATE = "The sample rate must be a number between 0 and 1 (1 = every item)."
MIN_APPROVALS = "Approvals needed must be a whole number between 1 and 5."
NOT_A_REVIEWER = "{username!r} is not a reviewer or admin of this project."
CRITERION_LABEL = "Every rubric criterion needs a name."
REASON_LABEL = "Every reason code needs a name."
GOLD_REFERENCE = "A gold item needs a reference answer."
GOLD_RATE = "The gold rate must be between 0 and 1."
JUDGE_BELOW = (
    "'Always review below' must be a judge score from 0 to 4 (e.g. 2: always review "
    "answers scored 0 or 1), or empty for no rule."
)
JUDGE_RATES = (
    "Judge sample rates map a judge score from 0 to 4 to a sample rate between 0 and 1, "
    'e.g. {"4": 0.1} to review 10 % of the answers the judge scored 4.'
)

MAX_STAGES = 10
DEFAULT_STAGE = {"name": "Review", "sample_rate": 1.0, "min_approvals": 1}
DEFAULT_RUBRIC = [
    ("accuracy", "Accuracy", "Facts are right; nothing made up."),
    ("helpfulness", "Helpfulness", "Answers what was asked, completely."),
    ("clarity", "Clarity", "Easy to follow; well organised."),
    ("tone", "Tone", "Fits the project's voice and the reader."),
    ("safety", "Safety", "No harmful, private or unsafe content."),
]
DEFAULT_REASONS = [
    ("inaccurate", "Inaccurate or made up"),
    ("incomplete", "Incomplete answer"),
    ("guidelines", "Does not follow the guidelines"),
    ("tone", "Wrong tone or style"),
    ("formatting", "Formatting problems"),
    ("unsafe", "Unsafe or contains private data"),
]


def create_default_policy(project: Project) -> None:
    """Give a new project one stage "Review" (every item, one approval), the default
    rubric and the default reason codes."""
    ReviewStage.objects.create(project=project, position=0, **DEFAULT_STAGE)
    RubricCriterion.objects.bulk_create(
        RubricCriterion(project=project, key=k, label=label, description=d, position=i)
        for i, (k, label, d) in enumerate(DEFAULT_RUBRIC)
    )
    ReasonCode.objects.bulk_create(
        ReasonCode(project=project, code=c, label=label, position=i)
        for i, (c, label) in enumerate(DEFAULT_REASONS)
    )


# --- Stages ---------------------------------------------------------------------------


def stage_reviewers(project: Project) -> dict[str, int]:
    """Usernames of the people who may be named as a stage's reviewers (the project's
    reviewers and admins), with their user ids."""
    return {
        m.user.username: m.user_id
        for m in Membership.objects.filter(
            project=project, role__in=[Role.REVIEWER, Role.ADMIN]
        ).select_related("user")
    }


def _stage_error(message: str) -> ValidationError:
    return ValidationError({"review_stages": message})


def _clean_rate(raw: Any) -> float:
    try:
        rate = float(raw)
    except (TypeError, ValueError):
        return -1.0
    return rate if 0.0 <= rate <= 1.0 else -1.0


def _clean_stage_reviewers(name: str, usernames: Any, reviewer_ids: dict[str, int]) -> list[int]:
    if not isinstance(usernames, list):
        raise _stage_error(f"{name}: reviewers must be a list of usernames.")
    unknown = [u for u in usernames if str(u) not in reviewer_ids]
    if unknown:
        raise _stage_error(f"{name}: " + NOT_A_REVIEWER.format(username=unknown[0]))
    return [reviewer_ids[str(u)] for u in usernames]


def _clean_judge_below(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 4:
        raise ValueError(JUDGE_BELOW)
    return int(raw)


def _clean_judge_rates(raw: Any) -> dict[str, float]:
    """``{"score": rate}`` with scores "0" to "4" and rates 0 to 1, in score order."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(JUDGE_RATES)
    rates: dict[str, float] = {}
    for key, value in raw.items():
        score = str(key).strip()
        if score not in {"0", "1", "2", "3", "4"} or isinstance(value, bool | str):
            raise ValueError(JUDGE_RATES)
        rate = _clean_rate(value)
        if rate < 0:
            raise ValueError(JUDGE_RATES)
        rates[score] = rate
    return dict(sorted(rates.items()))


def _clean_stage(raw: Any, index: int, reviewer_ids: dict[str, int]) -> dict[str, Any]:
    name = str(raw.get("name") or "").strip() if isinstance(raw, dict) else ""
    if not name:
        raise _stage_error(f"Stage {index + 1}: {STAGE_NAME}")
    rate = _clean_rate(raw.get("sample_rate", 1.0))
    if rate < 0:
        raise _stage_error(f"{name}: {SAMPLE_RATE}")
    approvals = raw.get("min_approvals", 1)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 1 <= approvals <= 5:
        raise _stage_error(f"{name}: {MIN_APPROVALS}")
    try:
        judge_below = _clean_judge_below(raw.get("judge_always_below"))
        judge_rates = _clean_judge_rates(raw.get("judge_sample_rates"))
    except ValueError as exc:
        raise _stage_error(f"{name}: {exc}") from None
    return {
        "name": name[:100],
        "sample_rate": rate,
        "min_approvals": approvals,
        "reviewers": _clean_stage_reviewers(name, raw.get("reviewers") or [], reviewer_ids),
        "allow_prior_reviewers": bool(raw.get("allow_prior_reviewers", False)),
        "judge_always_below": judge_below,
        "judge_sample_rates": judge_rates,
    }


def set_review_stages(*, project: Project, stages: list[dict[str, Any]]) -> list[ReviewStage]:
    """Replace ``project``'s ordered review stages with ``stages`` (each ``{name,
    sample_rate, min_approvals, reviewers?, allow_prior_reviewers?, judge_always_below?,
    judge_sample_rates?}``; ``reviewers`` are usernames of project reviewers, empty for
    all of them; the judge rules are described in ``reviews.routing``).

    Stages keep their position; items already at a stage keep the approvals they
    needed when they arrived. Items waiting at a position that no longer exists
    finish their current stay there and are then approved.
    """
    if not isinstance(stages, list) or not stages:
        raise _stage_error(NO_STAGES)
    if len(stages) > MAX_STAGES:
        raise _stage_error(TOO_MANY_STAGES)
    reviewer_ids = stage_reviewers(project)
    cleaned = [_clean_stage(raw, i, reviewer_ids) for i, raw in enumerate(stages)]
    names = [c["name"].lower() for c in cleaned]
    if len(set(names)) != len(names):
        raise _stage_error(STAGE_NAMES_UNIQUE)
    with transaction.atomic():
        existing = {
            s.position: s for s in ReviewStage.objects.select_for_update().filter(project=project)
        }
        ReviewStage.objects.filter(project=project, position__gte=len(cleaned)).delete()
        result = []
        for position, fields in enumerate(cleaned):
            reviewers = fields.pop("reviewers")
            stage = existing.get(position) or ReviewStage(project=project, position=position)
            for name, value in fields.items():
                setattr(stage, name, value)
            stage.save()
            stage.reviewers.set(reviewers)
            result.append(stage)
    return result


# --- Rubric and reason codes ----------------------------------------------------------


def _slug(text: Any) -> str:
    return slugify(str(text))[:40] or "criterion"


def set_rubric(*, project: Project, criteria: list[dict[str, Any]]) -> None:
    """Replace the project's rubric (``[{key?, label, description?, required?}]``)."""
    rows = []
    seen: set[str] = set()
    for i, raw in enumerate(criteria):
        label = str(raw.get("label") or "").strip()
        if not label:
            raise ValidationError({"rubric": CRITERION_LABEL})
        key = _slug(raw.get("key") or label)
        if key in seen:
            raise ValidationError({"rubric": f"Two criteria are both called {label!r}."})
        seen.add(key)
        rows.append(
            RubricCriterion(
                project=project,
                key=key,
                label=label[:100],
                description=str(raw.get("description") or "")[:300],
                required=bool(raw.get("required")),
                position=i,
            )
        )
    with transaction.atomic():
        RubricCriterion.objects.filter(project=project).delete()
        RubricCriterion.objects.bulk_create(rows)


def set_reason_codes(*, project: Project, reasons: list[dict[str, Any]]) -> None:
    """Replace the project's reason codes (``[{code?, label}]``). Past reviews keep the
    codes they used."""
    rows = []
    seen: set[str] = set()
    for i, raw in enumerate(reasons):
        label = str(raw.get("label") or "").strip()
        if not label:
            raise ValidationError({"reasons": REASON_LABEL})
        code = _slug(raw.get("code") or label)
        if code in seen:
            raise ValidationError({"reasons": f"Two reasons are both called {label!r}."})
        seen.add(code)
        rows.append(ReasonCode(project=project, code=code, label=label[:100], position=i))
    with transaction.atomic():
        ReasonCode.objects.filter(project=project).delete()
        ReasonCode.objects.bulk_create(rows)


# --- Gold items -----------------------------------------------------------------------


def set_gold(*, item: Item, reference: str) -> Item:
    """Mark ``item`` as a gold item with ``reference`` as its known-good answer."""
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": GOLD_REFERENCE})
    item.is_gold = True
    item.reference = reference
    item.save(update_fields=["is_gold", "reference"])
    return item


def unset_gold(*, item: Item) -> Item:
    """Make ``item`` an ordinary item again; its reference and past scores are kept."""
    item.is_gold = False
    item.save(update_fields=["is_gold"])
    return item


def set_gold_rate(*, project: Project, rate: float) -> None:
    """How often annotators' queues serve a gold item (0 to 1)."""
    if not 0.0 <= rate <= 1.0:
        raise ValidationError({"gold_rate": GOLD_RATE})
    project.gold_rate = rate
    project.save(update_fields=["gold_rate", "updated_at"])
