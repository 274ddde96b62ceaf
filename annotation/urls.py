"""Pages and API routes (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from annotation import api, views

app_name = "annotation"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/work/", views.work, name="work"),
    path("projects/<slug:slug>/queues/", views.queues, name="queues"),
    path("projects/<slug:slug>/queues/<int:queue_id>/", views.queue_edit, name="queue_edit"),
    path("items/<int:item_id>/", views.item_page, name="item"),
    path("items/<int:item_id>/draft/", views.item_draft, name="item_draft"),
    path("items/<int:item_id>/submit/", views.item_submit, name="item_submit"),
    path("items/<int:item_id>/skip/", views.item_skip, name="item_skip"),
    path("items/<int:item_id>/flag/", views.item_flag, name="item_flag"),
    path("items/<int:item_id>/reopen/", views.item_reopen, name="item_reopen"),
    path("items/<int:item_id>/unflag/", views.item_unflag, name="item_unflag"),
    path("my-work/", views.my_work, name="my_work"),
    path("api/v1/projects/<int:project_id>/next/", api.NextView.as_view(), name="api-next"),
    path("api/v1/items/<int:item_id>/", api.ItemView.as_view(), name="api-item"),
    path("api/v1/items/<int:item_id>/draft/", api.DraftView.as_view(), name="api-draft"),
    path("api/v1/items/<int:item_id>/lease/", api.LeaseView.as_view(), name="api-lease"),
    path("api/v1/items/<int:item_id>/submit/", api.SubmitView.as_view(), name="api-submit"),
    path("api/v1/items/<int:item_id>/skip/", api.SkipView.as_view(), name="api-skip"),
    path("api/v1/items/<int:item_id>/flag/", api.FlagView.as_view(), name="api-flag"),
    path("api/v1/items/<int:item_id>/reopen/", api.ReopenView.as_view(), name="api-reopen"),
    path("api/v1/items/<int:item_id>/unflag/", api.UnflagView.as_view(), name="api-unflag"),
]
