"""The model in the loop: a project's model endpoints, its prompt versions, pinned
random samples to compare versions on, and what each run produced per item.

Runs themselves are ``projects.Job`` rows (kind ``generation`` or ``judgement``): their
status, progress, errors and result are the project's other jobs', and the jobs API
shows them. A run's ``params`` record the exact prompt version, endpoint, model and
parameters it used, copied at creation, so a later edit of the endpoint changes nothing
about what a report says.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotation.models import Item, Revision
from projects.models import Job, Project


class Endpoint(models.Model):
    """An OpenAI-compatible chat-completions server: a hosted API, vLLM, llama.cpp's
    server or Ollama. The API key is stored encrypted (``assist.secrets``) or read from
    the environment variable ``api_key_env``; it is never returned or shown again."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="endpoints")
    name = models.CharField(max_length=100)
    base_url = models.URLField(
        max_length=500, help_text="Up to /v1, e.g. http://127.0.0.1:11434/v1"
    )
    model = models.CharField(max_length=200)
    family = models.CharField(
        max_length=50, help_text="Model family (openai, anthropic, llama, mistral, qwen, …)."
    )
    api_key_encrypted = models.TextField(blank=True)
    api_key_env = models.CharField(max_length=100, blank=True)
    timeout = models.FloatField(default=60.0, help_text="Seconds per call.")
    max_concurrency = models.PositiveSmallIntegerField(default=4)
    rpm = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute.")
    tpm = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens per minute.")
    supports_json_schema = models.BooleanField(default=False)
    supports_seed = models.BooleanField(default=False)
    supports_n = models.BooleanField(default=False)
    price_input = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="Per million tokens."
    )
    price_output = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="Per million tokens."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="one_endpoint_name_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"


class PromptKind(models.TextChoices):
    DRAFT = "draft", "Draft answers"
    JUDGE = "judge", "Judge answers"
    GENERATE = "generate", "Generate prompts"


class PromptVersion(models.Model):
    """One version of a prompt: system text and a user template with ``{{placeholders}}``
    for the item's fields. Immutable once a run used it (``used_at`` set): a change is a
    new version whose ``parent`` is this one. ``labels`` (e.g. "production") move freely.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=PromptKind.choices, default=PromptKind.DRAFT)
    system = models.TextField(blank=True)
    template = models.TextField()
    params = models.JSONField(default=dict, blank=True, help_text="temperature, max_tokens, seed")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    labels = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_prompt_name_per_project")
        ]

    def __str__(self) -> str:
        return self.name


class Sample(models.Model):
    """A pinned random sample of a project's items: drawn once with ``seed`` from the
    items matching ``filter``, then reused for every prompt version compared on it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="samples")
    name = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    filter = models.JSONField(default=dict, blank=True)
    item_ids = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Generation(models.Model):
    """What one generation run's model wrote for one item. One row per (run, item), so a
    run resumed after a crash never drafts an item twice. ``applied`` says whether the
    text became the item's model draft."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="generations")
    prompt = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="generations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="generations")
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    applied = models.BooleanField(default=False)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "item"]
        constraints = [
            models.UniqueConstraint(fields=["job", "item"], name="one_generation_per_item_per_run")
        ]
        indexes = [models.Index(fields=["item", "-id"], name="generation_item_idx")]


class Judgement(models.Model):
    """One judge run's verdict on one item's text: a score 0 to 4 ("very bad" … "excellent")
    with a reason, or ``score`` null when the judge's answer could not be read (counted
    as invalid, never as a score). What was judged is a generation's output, the item's
    model draft, or a revision (a human answer)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="judgements")
    prompt = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="judgements")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="judgements")
    revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.CASCADE, related_name="judgements"
    )
    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="judgements"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    raw = models.TextField(blank=True)
    error = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "item"]
        constraints = [
            models.UniqueConstraint(fields=["job", "item"], name="one_judgement_per_item_per_run")
        ]
        indexes = [
            models.Index(fields=["item", "-id"], name="judgement_item_idx"),
            models.Index(
                fields=["revision"],
                condition=models.Q(revision__isnull=False),
                name="judgement_revision_idx",
            ),
        ]


class Rating(models.Model):
    """An admin's by-eye mark on one sample item's draft under one prompt version."""

    class Verdict(models.TextChoices):
        GOOD = "good", "Good"
        BAD = "bad", "Bad"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=4, choices=Verdict.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["generation", "user"], name="one_rating_per_user")
        ]
