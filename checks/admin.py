from __future__ import annotations

from django.contrib import admin

from checks.models import CheckConfig, CheckResult
from core.admin import ReadOnlyAdmin


@admin.register(CheckConfig)
class CheckConfigAdmin(ReadOnlyAdmin):
    list_display = ["project", "name", "enabled", "severity"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["revision", "name", "outcome", "severity", "created_at"]
    list_filter = ["name", "outcome"]
