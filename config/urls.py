from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Each app declares full paths (pages under /projects/<slug>/…, its API under
    # /api/v1/…) and is mounted once, in the order of the flow.
    path("", include("accounts.urls")),
    path("", include("projects.urls")),
    path("", include("annotation.urls")),
    path("", include("imports.urls")),
    path("", include("checks.urls")),
    path("", include("assist.urls")),
    path("", include("reviews.urls")),
    path("", include("exports.urls")),
    path("", include("overview.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "config.errors.permission_denied"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
