"""The Content-Security-Policy every response carries: scripts, styles, fonts and
connections only from the app itself, no inline code and no ``eval`` (the pages keep
their scripts in ``static/js`` and set sizes from ``data-`` attributes), no framing, no
plugins. Images come from the app (and ``data:`` URLs) unless ``CSP_IMG_HOSTS`` names
more, for guidelines that show pictures hosted elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def policy(*, inline_styles: bool = False) -> str:
    images = " ".join(["'self'", "data:", *getattr(settings, "CSP_IMG_HOSTS", [])])
    styles = "style-src 'self' 'unsafe-inline'" if inline_styles else "style-src 'self'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            styles,
            f"img-src {images}",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# The browsable API docs (Swagger UI, a third-party page) inject a <style> element; they
# get inline styles, never inline scripts.
INLINE_STYLE_PATHS = ("/api/docs/",)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = policy()
        self.docs_header = policy(inline_styles=True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        docs = request.path.startswith(INLINE_STYLE_PATHS)
        response.headers.setdefault(
            "Content-Security-Policy", self.docs_header if docs else self.header
        )
        return response
