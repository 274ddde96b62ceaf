"""Projects, who works on them, and the guidelines they work under."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


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


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# How long a job may wait for a worker before its page says that none seems to be running.
WORKER_WAIT = dt.timedelta(seconds=15)


class WaitsForWorker:
    """A job that a Celery worker runs (in-process when no broker is configured)."""

    status: str
    created_at: dt.datetime

    @property
    def waiting_for_worker(self) -> bool:
        """Still pending well after it was queued: no worker seems to be running."""
        return self.status == JobStatus.PENDING and timezone.now() - self.created_at > WORKER_WAIT


class Job(WaitsForWorker, models.Model):
    """A background job of a project other than an import or export (re-checks,
    generations, judgements). Status lives here, not in a Celery result backend."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ImportJob(WaitsForWorker, models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=30, default="auto")
    detected_format = models.CharField(max_length=30, blank=True)
    options = models.JSONField(default=dict, blank=True)
    skip_invalid = models.BooleanField(default=False)
    skip_duplicates = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0, help_text="Rows read.")
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    existing = models.PositiveIntegerField(default=0, help_text="Rows whose external id exists.")
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    phase = models.CharField(
        max_length=20, blank=True, help_text="mapping, validating or writing while not finished."
    )
    size = models.BigIntegerField(default=0, help_text="Bytes in the uploaded file.")
    position = models.BigIntegerField(default=0, help_text="Bytes of the file read so far.")
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename}"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def percent(self) -> int:
        """How far reading has got, for the progress bar (writing counts as the last 10%)."""
        if self.finished:
            return 100
        if self.phase == "writing":
            return 95
        if not self.size:
            return 0
        return min(90, int(90 * self.position / self.size))


class ExportJob(WaitsForWorker, models.Model):
    """One export of a project's data: its options, the snapshot of revisions it exports,
    its progress, and the file it produced (only set once the file is complete)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    format = models.CharField(max_length=30)
    options = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    manifest_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    snapshot = models.BinaryField(
        blank=True,
        default=b"",
        help_text="The revision ids exported, in export order (packed 64-bit integers), "
        "fixed before the first row is written so a retry exports the same rows.",
    )
    snapshot_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker building it."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format})"
