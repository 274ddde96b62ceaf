"""API token routes and the Tokens page (full paths, included at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts import api, views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.revoke, name="revoke"),
    path("api/v1/auth/token/", api.TokenView.as_view(), name="api-token"),
    path("api/v1/auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("api/v1/auth/tokens/", api.TokensView.as_view(), name="api-tokens"),
    path(
        "api/v1/auth/tokens/<int:token_id>/", api.TokenDetailView.as_view(), name="api-token-detail"
    ),
]
