"""The Tokens page: make a named token (its key is shown once), see and revoke tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.models import ApiToken
from accounts.services import LOCKED_OUT, lockout_minutes
from core.htmx import HtmxHttpRequest


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The page (or, for the API, the JSON) a locked-out login gets: 429 with when to
    try again."""
    minutes = lockout_minutes()
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_OUT.format(minutes=minutes)}, status=429)
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HtmxHttpRequest) -> HttpResponse:
    new_key, error, name = "", "", ""
    status = 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        raw_days = request.POST.get("expires_in_days", "").strip()
        try:
            days = int(raw_days) if raw_days else None
            new_key, _ = services.issue_token(user=request.user, name=name, expires_in_days=days)
            name = ""
        except ValueError:
            error, status = "Expiry must be a number of days.", 400
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    rows = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": rows, "new_key": new_key, "error": error, "name": name},
        status=status,
    )


@login_required
@require_POST
def revoke(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    if services.revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked: scripts using it can no longer sign in.")
    else:
        messages.error(request, "No such token.")
    return redirect("accounts:tokens")
