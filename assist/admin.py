"""Read-only admin views of the model in the loop (the Model pages are where admins
work). An endpoint's encrypted key is not shown even there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assist.models import Endpoint, Generation, PromptVersion, Sample
from core.admin import ReadOnlyAdmin


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "model", "family", "max_concurrency"]
    exclude = ["api_key_encrypted"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for f in super().get_readonly_fields(request, obj) if f != "api_key_encrypted"]


@admin.register(PromptVersion)
class PromptVersionAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "kind", "used_at"]


@admin.register(Sample)
class SampleAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "size", "seed"]


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = ["job", "item", "applied", "error"]
