"""The item explorer page: the filtered table, saved views, and bulk actions on a
selection or on everything matching the filter."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Queue
from annotation.states import State
from checks.models import Outcome
from checks.registry import REGISTRY
from core.htmx import HtmxHttpRequest
from overview import bulk, explorer, people
from overview.models import SavedView
from overview.rows import build_rows, page_items
from projects.access import project_access
from projects.models import Job, Role
from reviews.models import ReviewStage

VIEW_NAME_NEEDED = "Give the view a name."
VIEW_NAME_TAKEN = "You already have a view called “{name}”."


def _explorer_url(slug: str, query: str = "") -> str:
    url = reverse("overview:items", args=[slug])
    return f"{url}?{query}" if query else url


def _choices(project: Any) -> dict[str, Any]:
    return {
        "states": State.choices,
        "queues": list(Queue.objects.filter(project=project).order_by("name")),
        "stages": list(
            ReviewStage.objects.filter(project=project)
            .order_by("position")
            .values_list("position", "name")
        ),
        "checks": sorted((name, REGISTRY[name].label) for name in REGISTRY),
        "outcomes": Outcome.values,
        "orderings": list(explorer.ORDERINGS),
        "bulk_actions": bulk.ACTIONS,
    }


def _params(request: HtmxHttpRequest) -> QueryDict:
    params = request.GET.copy()
    params.pop("job", None)  # the bulk job being followed, not a filter
    return params


def _own_figures(project: Any, user: Any) -> dict[str, Any] | None:
    rows = people.annotator_figures(project)
    return next((r for r in rows if r["username"] == user.get_username()), None)


@login_required
@require_GET
def items(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ANNOTATOR)
    project = access.project
    status, error = 200, ""
    try:
        flt = explorer.parse(_params(request))
    except explorer.FilterError as exc:
        flt, error, status = explorer.Filter(), str(exc), 400
    rows: list[Any] = []
    page = None
    if not error:
        queryset = explorer.filtered(explorer.visible_items(access, request.user), flt)
        paginator = Paginator(page_items(queryset), explorer.PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        rows = build_rows(list(page.object_list))
    query = flt.query_string()
    job_id = request.GET.get("job", "")
    job = (
        Job.objects.filter(project=project, kind="bulk", pk=job_id).first()
        if job_id.isdigit()
        else None
    )
    context = {
        "project": project,
        "access": access,
        "flt": flt.values,
        "ordering": flt.ordering,
        "query": query,
        "error": error,
        "rows": rows,
        "page": page,
        "page_query": urlencode([(k, v) for k, v in _params(request).items() if k != "page"]),
        "saved": list(SavedView.objects.filter(project=project, user=request.user)),
        "job": job,
        # An annotator sees their own figures here, and nobody else's.
        "mine": None if access.is_reviewer else _own_figures(project, request.user),
        **_choices(project),
    }
    return render(request, "overview/items.html", context, status=status)


@login_required
@require_POST
def save_view(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ANNOTATOR)
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")
    try:
        flt = explorer.parse(QueryDict(query))
    except explorer.FilterError as exc:
        messages.error(request, str(exc))
        return redirect(_explorer_url(slug))
    if not name:
        messages.error(request, VIEW_NAME_NEEDED)
        return redirect(_explorer_url(slug, flt.query_string()))
    try:
        with transaction.atomic():
            SavedView.objects.create(
                project=access.project, user=request.user, name=name, query=flt.query_string()
            )
    except IntegrityError:
        messages.error(request, VIEW_NAME_TAKEN.format(name=name))
    else:
        messages.success(request, f"Saved the view “{name}”.")
    return redirect(_explorer_url(slug, flt.query_string()))


@login_required
@require_POST
def delete_view(request: HtmxHttpRequest, slug: str, view_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ANNOTATOR)
    view = get_object_or_404(SavedView, pk=view_id, project=access.project, user=request.user)
    view.delete()
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_explorer_url(slug))


def _bulk_data(request: HtmxHttpRequest) -> dict[str, Any]:
    """The bulk form as the bulk service takes it (the same shape as the API)."""
    post = request.POST
    action = post.get("action", "")
    data: dict[str, Any] = {"action": action}
    if post.get("scope") == "all":
        data["filter"] = {k: v for k, v in QueryDict(post.get("query", "")).items()}
    else:
        data["ids"] = [int(i) for i in post.getlist("ids") if i.isdigit()]
    value = post.get("value", "").strip()
    if action == "retag":
        data["add"] = value
        data["remove"] = post.get("remove", "").strip()
    elif action == "priority":
        data["priority"] = value
    elif action == "queue":
        data["queue"] = value or "default"
    elif action in ("requeue", "flag"):
        data["reason"] = value
        data["discard"] = post.get("discard") == "on"
    elif action == "gold":
        data["gold"] = value != "false"
    elif action == "export":
        data["format"] = value or "openai-chat"
    return data


@login_required
@require_POST
def bulk_action(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    query = request.POST.get("query", "")
    try:
        job = bulk.start_bulk(access=access, actor=request.user, data=_bulk_data(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_explorer_url(slug, query))
    messages.success(request, f"Started {job.params['action']} on {job.total} item(s).")
    sep = "&" if query else ""
    return redirect(_explorer_url(slug, f"{query}{sep}job={job.pk}"))


@login_required
@require_GET
def bulk_job(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    """The progress of a bulk job (polled by the explorer while it runs)."""
    access = project_access(request.user, slug, Role.ADMIN)
    job = get_object_or_404(Job, pk=job_id, project=access.project, kind="bulk")
    context = {"project": access.project, "job": job}
    return render(request, "overview/_bulk_job.html", context)
