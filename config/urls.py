from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz
from projects import views as project_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("users/", project_views.users, name="users"),
    path("projects/", include("projects.urls")),
    path("api/v1/", include("projects.api_urls")),
    # Feature modules declare full paths (pages under /projects/<slug>/…, API under /api/v1/…).
    path("", include("projects.import_urls")),
    path("", include("projects.export_urls")),
    path("", include("annotation.urls")),
    path("", include("reviews.urls")),
    path("", include("reviews.check_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
