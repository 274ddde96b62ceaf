"""Projects, who works on them, and the guidelines they work under."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.models import BackgroundJob


class TaskType(models.TextChoices):
    WRITE = "write", "Write: answer the prompt"
    CORRECT = "correct", "Correct: fix the model's draft"
    COMPOSE = "compose", "Compose: write prompt and response from a topic"
    CONVERSATION = "conversation", "Conversation: edit and extend a multi-turn chat"


class Role(models.TextChoices):
    """Roles are cumulative: an admin may also review and annotate, a reviewer may annotate."""

    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}

# What the editor offers when an annotator skips or flags an item, until the project's
# admin changes the lists. "Other" lets an annotator skip with a reason of their own.
DEFAULT_SKIP_REASONS = [
    "I lack the expertise",
    "The prompt is unclear",
    "It would take too long",
    "Other",
]
DEFAULT_FLAG_CATEGORIES = ["unsafe", "unanswerable", "duplicate"]
# Words for the built-in flag categories; a project's own categories show as written.
FLAG_LABELS = {
    "unsafe": "Unsafe or harmful",
    "unanswerable": "Unanswerable",
    "duplicate": "Duplicate prompt",
}
MAX_CHOICES = 20
MAX_CHOICE_LENGTH = 100
CHOICES_NOT_A_LIST = "Give a list of short texts, one per choice."
CHOICES_EMPTY = "Give at least one choice."
CHOICES_TOO_MANY = "At most {limit} choices (you gave {count})."
CHOICE_BLANK = "Choice {n} is empty."
CHOICE_TOO_LONG = "Choice {n} is longer than {limit} characters."
CHOICE_TWICE = "{choice!r} is listed twice."


def default_skip_reasons() -> list[str]:
    return list(DEFAULT_SKIP_REASONS)


def default_flag_categories() -> list[str]:
    return list(DEFAULT_FLAG_CATEGORIES)


def clean_choices(value: object) -> list[str]:
    """A project's list of skip reasons or flag categories, stripped, or a
    ``ValidationError`` naming the first problem: 1 to 20 non-empty texts, no
    duplicates (ignoring case)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(CHOICES_NOT_A_LIST)
    choices = [v.strip() for v in value]
    if not choices:
        raise ValidationError(CHOICES_EMPTY)
    if len(choices) > MAX_CHOICES:
        raise ValidationError(CHOICES_TOO_MANY.format(limit=MAX_CHOICES, count=len(choices)))
    seen: set[str] = set()
    for n, choice in enumerate(choices, start=1):
        if not choice:
            raise ValidationError(CHOICE_BLANK.format(n=n))
        if len(choice) > MAX_CHOICE_LENGTH:
            raise ValidationError(CHOICE_TOO_LONG.format(n=n, limit=MAX_CHOICE_LENGTH))
        if choice.casefold() in seen:
            raise ValidationError(CHOICE_TWICE.format(choice=choice))
        seen.add(choice.casefold())
    return choices


def validate_choices(value: object) -> None:
    clean_choices(value)


def flag_label(category: str) -> str:
    return FLAG_LABELS.get(category, category)


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(
        blank=True,
        help_text="The brief: the task, the domain, the desired output (tone, style, format) "
        "and the constraints. Shown above the guidelines and in the dataset card.",
    )
    task_type = models.CharField(max_length=20, choices=TaskType.choices, default=TaskType.WRITE)
    overlap = models.PositiveSmallIntegerField(
        default=1, help_text="How many different annotators answer each item."
    )
    language = models.CharField(
        max_length=12, default="en", help_text="ISO 639-1 code of the language responses are in."
    )
    lease_minutes = models.PositiveIntegerField(
        default=30, help_text="How long an annotator holds an item without activity."
    )
    max_leases = models.PositiveSmallIntegerField(
        default=3, help_text="How many items one annotator may hold at once."
    )
    gold_rate = models.FloatField(
        default=0.0, help_text="Share of served items that are gold items (0 to 1)."
    )
    skip_reasons = models.JSONField(
        default=default_skip_reasons,
        validators=[validate_choices],
        help_text="What an annotator may give as the reason for skipping an item.",
    )
    flag_categories = models.JSONField(
        default=default_flag_categories,
        validators=[validate_choices],
        help_text="What an annotator may flag an item as (it leaves the dataset).",
    )
    anchoring_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Correct tasks: the share of items (0 to 1) the annotator answers before "
        "seeing the model's draft, to compare with corrected drafts. 0 turns it off.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")
        ]
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class Guideline(models.Model):
    """One version of a project's guidelines. The highest version is the current one."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    body = models.TextField(help_text="Markdown.")
    html = models.TextField(help_text="The body rendered and sanitized.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="one_guideline_per_version")
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.project} guidelines v{self.version}"


class GuidelineAcknowledgement(models.Model):
    guideline = models.ForeignKey(
        Guideline, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guideline", "user"], name="one_ack_per_user")
        ]


class Job(BackgroundJob):
    """A background job of a project other than an import or export (re-checks,
    generations, judgements). Status lives here, not in a Celery result backend."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
