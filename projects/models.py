"""Projects, who works on them, and the guidelines they work under."""

from __future__ import annotations

from django.conf import settings
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
