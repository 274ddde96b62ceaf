"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from checks import api, views

app_name = "checks"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/checks/", views.checks_page, name="page"),
    path("projects/<slug:slug>/checks/live/", views.live, name="live"),
    path("projects/<slug:slug>/checks/redact/", views.redact, name="redact"),
    path("projects/<slug:slug>/checks/recheck/", views.recheck, name="recheck"),
    path(
        "api/v1/projects/<int:project_id>/checks/",
        api.ProjectChecksView.as_view(),
        name="api",
    ),
    path(
        "api/v1/projects/<int:project_id>/recheck/",
        api.RecheckView.as_view(),
        name="api-recheck",
    ),
]
