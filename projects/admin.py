from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from projects.models import Guideline, GuidelineAcknowledgement, Job, Membership, Project


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "task_type", "overlap", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role"]


@admin.register(Guideline)
class GuidelineAdmin(ReadOnlyAdmin):
    list_display = ["project", "version", "created_by", "created_at"]


@admin.register(GuidelineAcknowledgement)
class GuidelineAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["guideline", "user", "acknowledged_at"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["project", "kind", "status", "progress", "total", "created_at"]
    list_filter = ["kind", "status"]
