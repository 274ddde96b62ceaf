"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from exports import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/export/", views.export_page, name="export"),
    path(
        "projects/<slug:slug>/export/<int:export_id>/download/",
        views.export_download,
        name="export_download",
    ),
    path(
        "api/v1/projects/<int:project_id>/exports/",
        api.ProjectExportsView.as_view(),
        name="api-exports",
    ),
    path("api/v1/exports/<int:export_id>/", api.ExportDetailView.as_view(), name="api-export"),
    path(
        "api/v1/exports/<int:export_id>/download/",
        api.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
]
