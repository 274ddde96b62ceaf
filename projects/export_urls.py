"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from projects import export_api, export_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/export/", export_views.export_page, name="export"),
    path(
        "projects/<slug:slug>/export/<int:export_id>/download/",
        export_views.export_download,
        name="export_download",
    ),
    path(
        "api/v1/projects/<int:project_id>/exports/",
        export_api.ProjectExportsView.as_view(),
        name="api-exports",
    ),
    path(
        "api/v1/exports/<int:export_id>/", export_api.ExportDetailView.as_view(), name="api-export"
    ),
    path(
        "api/v1/exports/<int:export_id>/download/",
        export_api.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
]
