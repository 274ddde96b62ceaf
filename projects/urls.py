"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from projects import api, views

app_name = "projects"

urlpatterns: list[URLPattern | URLResolver] = [
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/creator/", views.user_creator, name="user_creator"),
    path("projects/", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="create"),
    path("projects/<slug:slug>/settings/", views.project_edit, name="edit"),
    path("projects/<slug:slug>/guidelines/", views.guidelines, name="guidelines"),
    path(
        "projects/<slug:slug>/guidelines/acknowledge/",
        views.guideline_acknowledge,
        name="acknowledge",
    ),
    path("api/v1/users/", api.UsersView.as_view(), name="api-users"),
    path(
        "api/v1/projects/<int:project_id>/members/", api.MembersView.as_view(), name="api-members"
    ),
    path(
        "api/v1/projects/<int:project_id>/guidelines/",
        api.GuidelinesView.as_view(),
        name="api-guidelines",
    ),
    path(
        "api/v1/projects/<int:project_id>/guidelines/acknowledge/",
        api.AcknowledgeView.as_view(),
        name="api-acknowledge",
    ),
    path("api/v1/jobs/<int:job_id>/", api.JobView.as_view(), name="api-job"),
]
