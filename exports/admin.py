from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["project", "format", "status", "rows", "sha256", "created_at"]
    list_filter = ["status"]
