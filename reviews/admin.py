from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from reviews.models import Review, ReviewStage


@admin.register(ReviewStage)
class ReviewStageAdmin(ReadOnlyAdmin):
    list_display = ["project", "position", "name", "sample_rate", "min_approvals"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "stage", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
