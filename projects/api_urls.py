from __future__ import annotations

from django.urls import path

from projects import api

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("users/", api.UsersView.as_view(), name="api-users"),
    path("projects/", api.ProjectListView.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", api.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<int:project_id>/stats/", api.StatsView.as_view(), name="api-stats"),
    path("projects/<int:project_id>/members/", api.MembersView.as_view(), name="api-members"),
    path(
        "projects/<int:project_id>/guidelines/", api.GuidelinesView.as_view(), name="api-guidelines"
    ),
    path(
        "projects/<int:project_id>/guidelines/acknowledge/",
        api.AcknowledgeView.as_view(),
        name="api-acknowledge",
    ),
]
