"""Error pages: JSON for the API, HTML for people.

Without ``DEBUG`` Django calls the handlers below. With ``DEBUG`` (the demo under
``make run``) :class:`AppErrorPages` shows the same pages for "not found" and "not
allowed", so a demo looks like the product; Django's debug page stays for server errors.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from core.api import json_not_found, json_server_error

NOT_ALLOWED = "You do not have the role this needs."


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_not_found(request, exception)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception or "") or NOT_ALLOWED
    if _is_api(request):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "403.html", {"message": message}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_server_error(request)
    return render(request, "500.html", status=500)


class AppErrorPages:
    """With ``DEBUG``, answer "not found" and "not allowed" with the app's own pages
    instead of Django's debug pages (which list every URL). Does nothing without it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG and not self._resolves(request):
            return not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG:
            return None
        if isinstance(exception, Http404):
            return not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        return None

    @staticmethod
    def _resolves(request: HttpRequest) -> bool:
        """The path, or the path with a slash added (CommonMiddleware redirects there),
        names a route; static files are served before this runs."""
        for path in (request.path_info, request.path_info + "/"):
            try:
                resolve(path)
            except Resolver404:
                continue
            return True
        return False
