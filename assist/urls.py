"""Pages and API routes of the model in the loop (full paths, included at the site root):
endpoints, prompt versions, samples and generations here; the judge's in judging_urls."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from assist import judging_urls

app_name = "assist"

urlpatterns: list[URLPattern | URLResolver] = [*judging_urls.urlpatterns]
