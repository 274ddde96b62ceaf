"""htmx in views: a typed request, and one way to answer with a page or its partial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A page request: it went through django-htmx's middleware (every request does), and
    its user is signed in (every page but the login page requires it)."""

    htmx: HtmxDetails
    user: User


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page; only its ``partial`` (a ``{% partialdef %}`` of the template) when
    htmx asks for it, so the same view serves both and works without JavaScript."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    return render(request, name, context, status=status)


def add_form_errors(form: BaseForm, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on ``form``: beside the field it names, else
    above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
