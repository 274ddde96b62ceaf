"""Items (units of work), their revisions, and their append-only history."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotation.states import State
from projects.models import Guideline, Project


class HashIndexOnPostgres(models.Index):
    """A hash index on PostgreSQL, a plain index elsewhere (SQLite has no hash indexes)."""

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor == "postgresql":
            using = " USING hash"
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class Item(models.Model):
    """One unit of work: a prompt or conversation, maybe a model draft to correct.

    ``source`` is the canonical message list as imported (without the answer to
    write); ``model_draft`` is the model's answer to correct (``correct`` projects);
    ``reference`` is a known-good answer (imported, or the gold answer).
    """

    # Every lookup by project goes through one of the indexes below that lead with it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    external_id = models.CharField(max_length=255, null=True, blank=True)
    source = models.JSONField(default=list)
    model_draft = models.TextField(blank=True)
    reference = models.TextField(blank=True)
    is_gold = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    priority = models.IntegerField(default=0)
    prompt_hash = models.CharField(max_length=64, blank=True)
    # Which import brought the item. Only the importer sets it, to the job it is running;
    # without a database-level key check, a million-row import skips a million lookups.
    import_job = models.ForeignKey(
        "imports.ImportJob",  # by name: the importer sits below annotation in the flow
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        db_constraint=False,
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    stage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Index of the review stage the item is at."
    )
    current_revision = models.ForeignKey(
        "Revision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now)
    queue = models.ForeignKey(
        "Queue",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        db_index=False,
        help_text="The queue whose filter routed the item here; none means the default queue.",
    )
    claims = models.PositiveSmallIntegerField(
        default=0, help_text="Annotators holding or having submitted the item (at most overlap)."
    )

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
            # Equality only, and hash index entries are small: much cheaper to fill than a
            # B-tree of 64-character keys when a million rows are imported.
            HashIndexOnPostgres(
                fields=["prompt_hash"],
                condition=~models.Q(prompt_hash=""),
                name="item_prompt_hash_idx",
            ),
            # Items that have a revision, in a queue: most imported items have neither.
            models.Index(
                fields=["current_revision"],
                condition=models.Q(current_revision__isnull=False),
                name="item_current_revision_idx",
            ),
            models.Index(
                fields=["queue"], condition=models.Q(queue__isnull=False), name="item_queue_fk_idx"
            ),
            # The claim walks these in order and stops at the first free row: open
            # items of the default queue (no queue) and of each named queue, highest
            # priority first, then oldest.
            models.Index(
                fields=["project", "-priority", "id"],
                condition=models.Q(state__in=["queued", "in_progress"], queue__isnull=True),
                name="item_claim_default_idx",
            ),
            models.Index(
                fields=["queue", "-priority", "id"],
                condition=models.Q(state__in=["queued", "in_progress"], queue__isnull=False),
                name="item_claim_queue_idx",
            ),
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


class Queue(models.Model):
    """A named subset of a project's items with its own assignees, priority and pause switch.

    Every project has a default queue; items that no other queue's filter routed
    (``Item.queue`` is null) belong to it. Annotators draw from the queues they belong
    to, highest ``priority`` first.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=100)
    priority = models.IntegerField(default=0, help_text="Higher queues are served first.")
    paused = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True, help_text="Items with any of these tags.")
    import_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    min_priority = models.IntegerField(
        null=True, blank=True, help_text="Items of at least this priority."
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Who works this queue; nobody named means every annotator of the project.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "-priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_queue_name_per_project"),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_default=True),
                name="one_default_queue_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.name}"


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Leased"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Lease expired"
    FLAGGED = "flagged", "Flagged"


# Assignments that take one of the item's ``overlap`` places.
HOLDING = (AssignmentStatus.ACTIVE, AssignmentStatus.SUBMITTED)


class Assignment(models.Model):
    """One annotator's turn at one item: the lease, the autosaved draft, the outcome.

    One row per (item, annotator), so nobody is handed the same item twice; rework
    re-activates the annotator's own row. ``draft_version`` counts autosaves: a write
    naming an older version is refused (another tab or device saved since).
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    is_rework = models.BooleanField(default=False)
    leased_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    draft = models.JSONField(null=True, blank=True)
    draft_version = models.PositiveIntegerField(default=0)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    submission = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why it was skipped or flagged.")
    active_seconds = models.PositiveIntegerField(
        default=0,
        help_text="Seconds the annotator spent actively editing (the page focused and "
        "typed in within the last half minute).",
    )
    active_counted_at = models.DateTimeField(
        null=True, blank=True, help_text="When active editing time was last added."
    )
    blind = models.BooleanField(
        default=False,
        help_text="The anchoring guard hid the model's draft until the annotator's first save.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="one_assignment_per_annotator")
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="assignment_user_status_idx"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="active"),
                name="assignment_active_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on item {self.item_id} ({self.status})"


def import_jobs() -> models.QuerySet[Any]:
    """Every import job, reached through the item's relation: imports sit below annotation
    in the flow (they write items), so annotation never imports them."""
    related = Item._meta.get_field("import_job").related_model
    assert isinstance(related, type) and issubclass(related, models.Model)
    return related._default_manager.all()
