"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from reviews import check_api, check_views

app_name = "checks"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/checks/", check_views.checks_page, name="page"),
    path("projects/<slug:slug>/checks/live/", check_views.live, name="live"),
    path("projects/<slug:slug>/checks/redact/", check_views.redact, name="redact"),
    path("projects/<slug:slug>/checks/recheck/", check_views.recheck, name="recheck"),
    path(
        "api/v1/projects/<int:project_id>/checks/",
        check_api.ProjectChecksView.as_view(),
        name="api",
    ),
    path(
        "api/v1/projects/<int:project_id>/recheck/",
        check_api.RecheckView.as_view(),
        name="api-recheck",
    ),
    path("api/v1/jobs/<int:job_id>/", check_api.JobView.as_view(), name="api-job"),
]
