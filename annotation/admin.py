from __future__ import annotations

from django.contrib import admin

from annotation.models import Assignment, Item, Queue, Revision, Transition
from core.admin import ReadOnlyAdmin


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "external_id", "state", "stage", "priority", "created_at"]
    list_filter = ["state"]
    search_fields = ["external_id"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "kind", "author", "created_at"]
    list_filter = ["kind"]


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "from_state", "to_state", "event", "actor", "at"]
    list_filter = ["event"]


@admin.register(Queue)
class QueueAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "name", "priority", "paused", "is_default"]
    list_filter = ["paused"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "user", "status", "is_rework", "leased_at", "expires_at"]
    list_filter = ["status"]
    raw_id_fields = ["item", "submission"]
