"""API-wide behaviour: every error is JSON with a human-readable ``detail``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _first_message(data: Any) -> str:
    if isinstance(data, list) and data:
        return _first_message(data[0])
    if isinstance(data, dict) and data:
        key, value = next(iter(data.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(data)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: validation errors carry ``detail`` (the first problem in
    words) beside the per-field ``errors``; Django's own errors map to 4xx."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        response.data = {"detail": _first_message(errors), "errors": errors}
    elif not isinstance(response.data, dict) or "detail" not in response.data:
        response.data = {"detail": _first_message(response.data)}
    return response


UNKNOWN_FIELDS = "Unknown field(s): {names}. This endpoint does not take them."


class RefuseUnknownFields:
    """Serializer mixin: a field the serializer does not declare is a 400 naming it,
    never silently ignored."""

    initial_data: Any
    fields: Any

    def validate(self, attrs: Any) -> Any:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(sent) - set(self.fields))
        if unknown:
            raise exceptions.ValidationError(UNKNOWN_FIELDS.format(names=", ".join(unknown)))
        return attrs


def request_user(request: Request) -> User:
    """The signed-in user of an API request (every endpoint but the token exchange and
    the health check requires one)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
