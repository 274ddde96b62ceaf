"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from overview import (
    api,
    calibration_views,
    dashboard_views,
    explorer_views,
    item_views,
    items_api,
    people_views,
    views,
)

app_name = "overview"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/members/", views.members, name="members"),
    path(
        "projects/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("projects/<slug:slug>/items/", explorer_views.items, name="items"),
    path("projects/<slug:slug>/dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("projects/<slug:slug>/dashboard/targets/", dashboard_views.set_target, name="set_target"),
    path(
        "projects/<slug:slug>/dashboard/<slug:key>.csv",
        dashboard_views.dashboard_csv,
        name="dashboard_csv",
    ),
    path(
        "api/v1/projects/<int:project_id>/dashboard/",
        dashboard_views.DashboardView.as_view(),
        name="api-dashboard",
    ),
    path("projects/<slug:slug>/people/", people_views.people_page, name="people"),
    path("projects/<slug:slug>/items/views/", explorer_views.save_view, name="save_view"),
    path(
        "projects/<slug:slug>/items/views/<int:view_id>/delete/",
        explorer_views.delete_view,
        name="delete_view",
    ),
    path("projects/<slug:slug>/items/bulk/", explorer_views.bulk_action, name="bulk"),
    path("projects/<slug:slug>/items/bulk/<int:job_id>/", explorer_views.bulk_job, name="bulk_job"),
    path("projects/<slug:slug>/items/<int:item_id>/", item_views.item_admin, name="item"),
    path(
        "projects/<slug:slug>/items/<int:item_id>/action/",
        item_views.item_action,
        name="item_action",
    ),
    path(
        "api/v1/projects/<int:project_id>/items/",
        items_api.ItemListView.as_view(),
        name="api-items",
    ),
    path(
        "api/v1/projects/<int:project_id>/items/bulk/",
        items_api.BulkView.as_view(),
        name="api-items-bulk",
    ),
    path("api/v1/projects/", api.ProjectListView.as_view(), name="api-projects"),
    path("api/v1/projects/<int:project_id>/", api.ProjectDetailView.as_view(), name="api-project"),
    path("api/v1/projects/<int:project_id>/stats/", api.StatsView.as_view(), name="api-stats"),
    path(
        "projects/<slug:slug>/calibration/",
        calibration_views.calibration_page,
        name="calibration",
    ),
    path(
        "api/v1/projects/<int:project_id>/calibration/",
        calibration_views.CalibrationView.as_view(),
        name="api-calibration",
    ),
]
