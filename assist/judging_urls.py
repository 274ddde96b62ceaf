"""Routes of the judge: judgement runs, their reports, the judge check's settings."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
