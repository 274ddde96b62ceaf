from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["project", "filename", "status", "total", "created", "invalid", "created_at"]
    list_filter = ["status"]
