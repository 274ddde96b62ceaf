"""Pages and API routes of the model in the loop (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "assist"

urlpatterns: list[URLPattern | URLResolver] = []
