"""Items (units of work), their revisions, and their append-only history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotation.states import State
from projects.models import Guideline, ImportJob, Project


class Item(models.Model):
    """One unit of work: a prompt or conversation, maybe a model draft to correct.

    ``source`` is the canonical message list as imported (without the answer to
    write); ``model_draft`` is the model's answer to correct (``correct`` projects);
    ``reference`` is a known-good answer (imported, or the gold answer).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    source = models.JSONField(default=list)
    model_draft = models.TextField(blank=True)
    reference = models.TextField(blank=True)
    is_gold = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    priority = models.IntegerField(default=0)
    prompt_hash = models.CharField(max_length=64, blank=True, db_index=True)
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    stage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Index of the review stage the item is at."
    )
    current_revision = models.ForeignKey(
        "Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="unique_external_id_per_project",
            )
        ]
        indexes = [
            models.Index(fields=["project", "state", "-priority", "id"], name="item_queue_idx"),
            models.Index(fields=["project", "prompt_hash"], name="item_prompt_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} ({self.state})"


class RevisionKind(models.TextChoices):
    SUBMISSION = "submission", "Submission"
    REVIEWER_EDIT = "reviewer_edit", "Reviewer edit"
    IMPORTED = "imported", "Imported"


class Revision(models.Model):
    """The content as someone wrote it. Never updated: a change is a new row.

    ``messages`` is the canonical form ``[{"role": "system"|"user"|"assistant",
    "content": "..."}]``; a single-turn pair is ``[user, assistant]``.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="revisions")
    messages = models.JSONField()
    kind = models.CharField(max_length=20, choices=RevisionKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    base = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    guideline = models.ForeignKey(
        Guideline, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["item", "id"], name="revision_item_idx")]

    def __str__(self) -> str:
        return f"revision {self.pk} of item {self.item_id}"


class Transition(models.Model):
    """Append-only history: who moved which item from where to where, and why."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="history")
    from_state = models.CharField(max_length=20, choices=State.choices)
    to_state = models.CharField(max_length=20, choices=State.choices)
    from_stage = models.PositiveSmallIntegerField(null=True, blank=True)
    to_stage = models.PositiveSmallIntegerField(null=True, blank=True)
    event = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["item", "id"], name="transition_item_idx")]
