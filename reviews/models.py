"""Review stages, reviews, and automated check configuration and results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotation.models import Item, Revision
from projects.models import Project


class ReviewStage(models.Model):
    """One step of a project's review policy, in ``position`` order."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="review_stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    sample_rate = models.FloatField(default=1.0, help_text="Share of items reviewed, 0 to 1.")
    min_approvals = models.PositiveSmallIntegerField(default=1)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Who may review at this stage; empty means every project reviewer.",
    )

    class Meta:
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="one_stage_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.name}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    EDIT = "edit", "Edit and approve"
    FLAG = "flag", "Flag"


class Review(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reviews")
    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="reviews")
    stage = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    reasons = models.JSONField(default=list, blank=True)
    feedback = models.TextField(blank=True)
    scores = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["item", "stage"], name="review_item_stage_idx")]


class Severity(models.TextChoices):
    BLOCK = "block", "Blocking"
    WARN = "warn", "Warning"


class CheckConfig(models.Model):
    """Whether a check runs for a project, how bad its failure is, and its options."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="check_configs")
    name = models.CharField(max_length=50)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARN)
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_config_per_check")
        ]


class Outcome(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"


class CheckResult(models.Model):
    """One check's verdict on one revision. Unique per (revision, check, version), so a
    re-delivered task changes nothing."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="check_results")
    name = models.CharField(max_length=50)
    version = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARN)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["revision", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "name", "version"], name="one_result_per_check_version"
            )
        ]
