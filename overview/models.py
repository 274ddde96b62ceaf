"""What the explorer keeps: named filters people save, and the record of the admin edits
made to items outside the state table (tags, priority, queue, gold)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotation.models import Item
from projects.models import Job, Project


class SavedView(models.Model):
    """A named explorer filter of one person in one project. ``query`` is the explorer's
    query string, so the view is also a URL anyone with access to the project can open."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "name"], name="one_saved_view_name_per_user"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ItemChange(models.Model):
    """Append-only: an admin changed an item's tags, priority, queue or gold status (the
    state moves are in the item's ``Transition`` history; these are not moves)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["item", "id"], name="itemchange_item_idx")]


class TagTarget(models.Model):
    """A balance quota for one tag: at least ``min_items`` items carry it, and/or at
    most ``max_share`` (0 to 1) of the project's items do."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=100)
    min_items = models.PositiveIntegerField(null=True, blank=True)
    max_share = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["tag"]
        constraints = [
            models.UniqueConstraint(fields=["project", "tag"], name="one_target_per_tag")
        ]

    def __str__(self) -> str:
        return self.tag
