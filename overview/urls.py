"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from overview import api, views

app_name = "overview"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/members/", views.members, name="members"),
    path(
        "projects/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("api/v1/projects/", api.ProjectListView.as_view(), name="api-projects"),
    path("api/v1/projects/<int:project_id>/", api.ProjectDetailView.as_view(), name="api-project"),
    path("api/v1/projects/<int:project_id>/stats/", api.StatsView.as_view(), name="api-stats"),
]
