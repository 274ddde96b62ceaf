"""Pages that read every app: a project's overview (progress, states, checks, review)
and its people (roles, with each annotator's gold scores)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotation.states import State
from core.htmx import HtmxHttpRequest, add_form_errors, render_page
from overview.selectors import project_stats
from projects import services
from projects.access import project_access
from projects.forms import MemberForm
from projects.models import Membership, Role
from reviews.selectors import gold_scores


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@login_required
@require_safe
def project_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    project = access.project
    stats = project_stats(project)
    guideline = services.current_guideline(project)
    states = [
        (value, label, stats["states"][value], _percent(stats["states"][value], stats["items"]))
        for value, label in State.choices
    ]
    context = {
        "project": project,
        "access": access,
        "stats": stats,
        "states": states,
        "guideline": guideline,
        "needs_ack": guideline is not None
        and services.needs_acknowledgement(project, request.user),
    }
    return render(request, "overview/project.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    form = MemberForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                membership = services.set_member(project=access.project, **form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
                status = 400
            else:
                messages.success(
                    request, f"{membership.user.username} is now {membership.role} here."
                )
                if not request.htmx:
                    return redirect("overview:members", slug=slug)
                form = MemberForm()
        else:
            status = 400
    rows = list(Membership.objects.filter(project=access.project).select_related("user"))
    gold = {g["user_id"]: g for g in gold_scores(access.project)}
    members = [(row, gold.get(row.user_id)) for row in rows]
    context = {"project": access.project, "access": access, "form": form, "members": members}
    return render_page(request, "overview/members.html", context, partial="members", status=status)


@login_required
@require_POST
def member_remove(request: HtmxHttpRequest, slug: str, membership_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    membership = get_object_or_404(Membership, pk=membership_id, project=access.project)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.username} removed from the project.")
    return redirect("overview:members", slug=slug)
