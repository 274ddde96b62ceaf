"""Pages for automated checks: the project's Checks page (configure, re-check) and the
live endpoint the annotator's editor calls while its user types."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotation.models import Item
from annotation.states import State
from checks import config, services
from checks.config import ConfiguredCheck
from checks.models import Severity
from checks.recheck import start_recheck
from core.htmx import HtmxHttpRequest, render_page
from core.text import loads_json
from projects.access import ProjectAccess, project_access
from projects.models import Job, Role

RECENT_JOBS = 5


def _option_fields(configured: ConfiguredCheck) -> list[dict[str, Any]]:
    fields = []
    for option in configured.check.options:
        value = configured.options.get(option.name, option.default)
        if option.kind == "list" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        fields.append(
            {
                "name": option.name,
                "field": f"opt-{option.name}",
                "kind": option.kind,
                "help": option.help,
                "choices": option.choices,
                "value": value,
                "label": option.name.replace("_", " ").capitalize(),
            }
        )
    return fields


def _card(configured: ConfiguredCheck, error: str = "") -> dict[str, Any]:
    return {"c": configured, "fields": _option_fields(configured), "error": error}


def _form_change(configured: ConfiguredCheck, post: Any) -> dict[str, Any]:
    """The change a check's form on the Checks page asks for, typed like the API's."""
    options: dict[str, Any] = {}
    for option in configured.check.options:
        key = f"opt-{option.name}"
        if option.kind == "bool":
            options[option.name] = key in post
        elif key in post:
            options[option.name] = post.get(key, "")
    return {"enabled": "enabled" in post, "severity": post.get("severity", ""), "options": options}


def _as_typed(configured: ConfiguredCheck, change: dict[str, Any]) -> ConfiguredCheck:
    """The check as the admin's form had it, valid or not: shown back beside the error,
    so nothing they typed is lost."""
    severity = change["severity"] if change["severity"] in Severity.values else configured.severity
    return ConfiguredCheck(
        configured.check,
        change["enabled"],
        severity,
        {**configured.options, **change["options"]},
    )


def _card_url(slug: str, name: str) -> str:
    return reverse("checks:page", args=[slug]) + f"#check-{name}"


def _jobs(project_id: int) -> list[Job]:
    return list(
        Job.objects.filter(project_id=project_id, kind="recheck").order_by("-created_at")[
            :RECENT_JOBS
        ]
    )


@login_required
@require_http_methods(["GET", "POST"])
def checks_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Every check with its switch, severity and options; one form per check."""
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    configured = config.project_checks(project)
    if request.method == "POST":
        name = request.POST.get("check", "")
        current = next((c for c in configured if c.name == name), None)
        if current is None:
            raise Http404("No such check.")
        change = _form_change(current, request.POST)
        try:
            updated = config.update_checks(project=project, changes={name: change})
        except ValidationError as exc:
            # Nothing is saved; the card shows what was typed, with the error beside it.
            card = _card(_as_typed(current, change), " ".join(exc.messages))
            if request.htmx:
                # 200 so htmx swaps the card in: the error shows beside the fields.
                return render(request, "checks/card.html", {"project": project, **card})
            cards = [card if c.name == name else _card(c) for c in configured]
            return render(request, "checks/checks.html", _page_context(access, cards))
        fresh = next(c for c in updated if c.name == name)
        if request.htmx:
            return render(
                request,
                "checks/card.html",
                {"project": project, "saved": True, **_card(fresh)},
            )
        messages.success(request, f"Saved “{fresh.check.label}”.")
        return redirect(_card_url(project.slug, name))
    context = _page_context(access, [_card(c) for c in configured])
    # htmx polls the jobs section while a re-check runs.
    return render_page(request, "checks/checks.html", context, partial="jobs")


def _page_context(access: ProjectAccess, cards: list[dict[str, Any]]) -> dict[str, Any]:
    jobs = _jobs(access.project.pk)
    return {
        "project": access.project,
        "access": access,
        "cards": cards,
        "jobs": jobs,
        "running": any(j.status in ("pending", "running") for j in jobs),
        "states": State.choices,
    }


@login_required
@require_POST
def recheck(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Start a re-check job from the Checks page (item ids, or every item in a state)."""
    access = project_access(request.user, slug, Role.ADMIN)
    raw_ids = re.findall(r"\d+", request.POST.get("items", ""))
    state = request.POST.get("state", "") or None
    try:
        job = start_recheck(
            project=access.project,
            actor=request.user,
            item_ids=raw_ids or None,
            state=None if raw_ids else state,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Re-checking {job.total} items in the background (job {job.pk})."
        )
    return redirect(reverse("checks:page", args=[access.project.slug]) + "#recheck")


def _item_in(project_id: int, raw: str) -> Item | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such item.")
    item = (
        Item.objects.filter(pk=int(raw), project_id=project_id)
        .only("pk", "model_draft", "project_id")
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    return item


@login_required
@require_POST
def live(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The cheap checks on what the annotator has typed so far, as the results fragment.
    Form fields: ``messages`` (JSON list) and optionally ``item`` (its id)."""
    access = project_access(request.user, slug, Role.ANNOTATOR)
    item = _item_in(access.project.pk, request.POST.get("item", ""))
    try:
        results = services.live_results(
            project=access.project, messages=request.POST.get("messages", ""), item=item
        )
    except ValidationError as exc:
        return render(
            request,
            "checks/_results.html",
            {"results": [], "error": " ".join(exc.messages), "live": True},
            status=400,
        )
    return render(
        request,
        "checks/_results.html",
        {"results": results, "live": True, "project": access.project},
    )


@login_required
@require_POST
def redact(request: HttpRequest, slug: str) -> JsonResponse:
    """The ``messages`` form field with personal data replaced by typed placeholders;
    answers ``{"messages": [...]}``."""
    access = project_access(request.user, slug, Role.ANNOTATOR)
    try:
        raw = loads_json(request.POST.get("messages", ""))
        redacted = services.redact(project=access.project, messages=raw)
    except (ValueError, ValidationError):
        return JsonResponse({"detail": services.BAD_MESSAGES}, status=400)
    return JsonResponse({"messages": redacted})
