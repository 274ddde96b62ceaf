"""Automated checks: per-project configuration, results per revision, and the duplicate
index the corpus checks look things up in."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from annotation.models import Item, Revision
from checks.registry import REGISTRY
from projects.models import Project


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

    @property
    def label(self) -> str:
        check = REGISTRY.get(self.name)
        return check.label if check else self.name


class DuplicateEntry(models.Model):
    """An item's place in its project's duplicate index: the hashes of its latest checked
    text and its MinHash signature, and the same for its last answer alone (copied
    answers). One row per item, replaced when the item changes."""

    item = models.OneToOneField(
        Item,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="duplicate_entry",
        db_constraint=False,
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    revision_id = models.BigIntegerField(help_text="The revision the entry was computed from.")
    text_hash = models.CharField(max_length=64)
    prompt_hash = models.CharField(max_length=64, blank=True)
    signature = models.BinaryField()
    answer_hash = models.CharField(
        max_length=64, blank=True, default="", help_text="Hash of the last answer alone."
    )
    answer_signature = models.BinaryField(
        blank=True, default=b"", help_text="MinHash signature of the last answer alone."
    )

    class Meta:
        indexes = [
            models.Index(fields=["project", "text_hash"], name="dup_entry_text_idx"),
            models.Index(fields=["project", "prompt_hash"], name="dup_entry_prompt_idx"),
            models.Index(fields=["project", "answer_hash"], name="dup_entry_answer_idx"),
        ]


class DuplicateBand(models.Model):
    """One locality-sensitive band key of an item's signature. Items sharing a key are
    near-duplicate candidates; the (project, key) index makes a lookup a few probes.
    The answer's signature has its own keys in the same table (another band namespace,
    see ``duplicates.band_keys``), so they never meet the conversation's."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    key = models.BigIntegerField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "key"], name="dup_band_key_idx"),
            models.Index(fields=["item"], name="dup_band_item_idx"),
        ]
