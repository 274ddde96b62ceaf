"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from reviews import api, views

app_name = "review"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/review/", views.review_queue, name="queue"),
    path("projects/<slug:slug>/review/next/", views.review_next, name="next"),
    path("projects/<slug:slug>/review/items/<int:item_id>/", views.review_item, name="item"),
    path(
        "projects/<slug:slug>/review/items/<int:item_id>/release/",
        views.review_release,
        name="release",
    ),
    path("projects/<slug:slug>/review-policy/", views.review_policy, name="policy"),
    path(
        "api/v1/projects/<int:project_id>/review/next/",
        api.ReviewNextView.as_view(),
        name="api-next",
    ),
    path("api/v1/items/<int:item_id>/reviews/", api.ItemReviewsView.as_view(), name="api-reviews"),
]
