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
    allow_prior_reviewers = models.BooleanField(
        default=False,
        help_text="Let people who reviewed the item at an earlier stage review it here too.",
    )
    # Targeted review: the judge's score (0 to 4) of the answer changes the sample rate.
    judge_always_below = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Always review an answer the judge scored below this (0 to 4); empty: no rule.",
    )
    judge_sample_rates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Sample rate per judge score instead of sample_rate, e.g. {"4": 0.1}.',
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


# How a decision reads once made ("Rejected by rita"), beside the button's imperative label.
DECISION_DONE = {
    Decision.APPROVE: "Approved",
    Decision.REJECT: "Rejected",
    Decision.EDIT: "Edited and approved",
    Decision.FLAG: "Flagged",
}


class Review(models.Model):
    # The reason codes in words, set by reviews.selectors.reviews_of for display; not stored.
    reason_labels: list[str]

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
    visit = models.ForeignKey(
        "StageVisit", null=True, blank=True, on_delete=models.CASCADE, related_name="reviews"
    )
    edited_revision = models.ForeignKey(
        Revision,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The reviewer's own revision, for an edit-and-approve.",
    )
    alternatives = models.JSONField(
        default=list,
        blank=True,
        help_text="Ids of the other annotators' revisions when the reviewer picked the best "
        "of several (overlap); kept for preference data.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["item", "stage"], name="review_item_stage_idx"),
            models.Index(fields=["reviewer", "item"], name="review_reviewer_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of item {self.item_id} at stage {self.stage}"

    @property
    def decision_done(self) -> str:
        """The decision as it reads once made: "Rejected", "Edited and approved"…"""
        return DECISION_DONE.get(Decision(self.decision), self.decision)


# --- Review policy and review bookkeeping -------------------------------------------


class StageVisit(models.Model):
    """One stay of an item at one review stage.

    The approvals needed are copied from the stage when the item arrives, so a policy
    change applies only to items that have not reached the stage yet. The row is locked
    while a decision is recorded: approvals are counted here, exactly once each.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="stage_visits")
    stage = models.PositiveSmallIntegerField()
    stage_name = models.CharField(max_length=100)
    min_approvals = models.PositiveSmallIntegerField(default=1)
    approvals = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_visit_per_item",
            )
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} at stage {self.stage}"


class ReviewLease(models.Model):
    """A reviewer holds an item at a stage until ``expires_at`` (like annotators' leases).
    Several reviewers may hold one item when its stage needs several approvals."""

    visit = models.ForeignKey(StageVisit, on_delete=models.CASCADE, related_name="leases")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="review_leases")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_leases"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "reviewer"], name="one_review_lease_per_visit")
        ]
        indexes = [models.Index(fields=["reviewer", "expires_at"], name="review_lease_user_idx")]


class RubricCriterion(models.Model):
    """A project's rubric: each criterion is scored 1 to 5 by reviewers."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rubric")
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="one_criterion_per_key")
        ]

    def __str__(self) -> str:
        return self.label


class ReasonCode(models.Model):
    """Why a reviewer rejects: a project-defined list the annotator sees with the feedback."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reason_codes")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="one_reason_per_code")
        ]

    def __str__(self) -> str:
        return self.label


class GoldScore(models.Model):
    """How an annotator's answer to a gold item compares with the reference answer
    (word similarity, 0 to 1) and how the reviewer rated it (mean rubric score / 5)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="gold_scores")
    revision = models.OneToOneField(Revision, on_delete=models.CASCADE, related_name="gold_score")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    similarity = models.FloatField()
    reviewer_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["annotator"], name="gold_score_annotator_idx")]


class ReviewAgreement(models.Model):
    """Two reviewers reviewed the same item at the same stage: did they agree?"""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    stage = models.PositiveSmallIntegerField()
    first = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    decision_agrees = models.BooleanField()
    rubric_agreement = models.FloatField(
        null=True, blank=True, help_text="1 minus the mean score gap over shared criteria / 4."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "stage"], name="agreement_stage_idx")]
