from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from reviews.models import CheckConfig, CheckResult, Review, ReviewStage


@admin.register(ReviewStage)
class ReviewStageAdmin(ReadOnlyAdmin):
    list_display = ["project", "position", "name", "sample_rate", "min_approvals"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "stage", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]


@admin.register(CheckConfig)
class CheckConfigAdmin(ReadOnlyAdmin):
    list_display = ["project", "name", "enabled", "severity"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["revision", "name", "outcome", "severity", "created_at"]
    list_filter = ["name", "outcome"]
