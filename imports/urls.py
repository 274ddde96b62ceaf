"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from imports import api, views

pages = (
    [
        path("projects/<slug:slug>/import/", views.import_page, name="page"),
        path(
            "projects/<slug:slug>/import/<int:import_id>/",
            views.import_detail,
            name="detail",
        ),
        path(
            "projects/<slug:slug>/import/<int:import_id>/columns/",
            views.import_columns,
            name="columns",
        ),
        path(
            "projects/<slug:slug>/import/<int:import_id>/cancel/",
            views.import_cancel,
            name="cancel",
        ),
        path(
            "projects/<slug:slug>/import/<int:import_id>/remove/",
            views.import_remove,
            name="remove",
        ),
        path(
            "projects/<slug:slug>/import/<int:import_id>/rerun/",
            views.import_rerun,
            name="rerun",
        ),
        path(
            "projects/<slug:slug>/import/<int:import_id>/errors.csv",
            views.import_errors_csv,
            name="errors",
        ),
    ],
    "imports",
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include(pages)),
    path(
        "api/v1/projects/<int:project_id>/imports/",
        api.ImportsView.as_view(),
        name="api-imports",
    ),
    path("api/v1/imports/<int:import_id>/", api.ImportDetailView.as_view(), name="api-import"),
    path(
        "api/v1/imports/<int:import_id>/cancel/",
        api.ImportCancelView.as_view(),
        name="api-import-cancel",
    ),
    path(
        "api/v1/imports/<int:import_id>/rerun/",
        api.ImportRerunView.as_view(),
        name="api-import-rerun",
    ),
]
