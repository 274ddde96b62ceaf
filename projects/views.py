"""Pages for projects, members, guidelines and users. Each page renders whole, or
just its section when htmx asks, so everything also works without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotation.states import State
from projects import services
from projects.access import project_access, visible_projects
from projects.forms import GuidelineForm, MemberForm, ProjectForm, UserForm
from projects.models import Guideline, Membership, Role
from projects.selectors import project_stats
from reviews.selectors import gold_scores

User = get_user_model()


def _section(request: HttpRequest, template: str, section: str) -> str:
    return f"{template}#{section}" if request.htmx else template  # type: ignore[attr-defined]


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = list(
        visible_projects(request.user).annotate(item_count=Count("items")).order_by("name")
    )
    roles = dict(
        Membership.objects.filter(user_id=request.user.pk or 0).values_list("project_id", "role")
    )
    for project in projects:
        project.role = roles.get(project.pk)  # type: ignore[attr-defined]
    return render(request, "projects/list.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(creator=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created. You are its admin.")
            return redirect("projects:detail", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "projects/form.html", {"form": form, "project": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    form = ProjectForm(request.POST or None, instance=access.project)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
            project = services.update_project(project=access.project, **fields)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Project settings saved.")
            return redirect("projects:detail", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "project": access.project, "access": access}
    return render(request, "projects/form.html", context, status=status)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
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
    return render(request, "projects/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    form = MemberForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                membership = services.set_member(project=access.project, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                messages.success(
                    request, f"{membership.user.username} is now {membership.role} here."
                )
                if not request.htmx:  # type: ignore[attr-defined]
                    return redirect("projects:members", slug=slug)
                form = MemberForm()
        else:
            status = 400
    rows = list(Membership.objects.filter(project=access.project).select_related("user"))
    gold = {g["user_id"]: g for g in gold_scores(access.project)}
    for row in rows:
        row.gold = gold.get(row.user_id)  # type: ignore[attr-defined]
    context = {"project": access.project, "access": access, "form": form, "members": rows}
    return render(
        request, _section(request, "projects/members.html", "members"), context, status=status
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    membership = get_object_or_404(Membership, pk=membership_id, project=access.project)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.username} removed from the project.")
    return redirect("projects:members", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def guidelines(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    project = access.project
    current = services.current_guideline(project)
    form = GuidelineForm(request.POST or None, initial={"body": current.body if current else ""})
    status = 200
    if request.method == "POST":
        access = project_access(request.user, slug, Role.ADMIN)
        if form.is_valid():
            try:
                current = services.publish_guideline(
                    project=project,
                    body=form.cleaned_data["body"],
                    author=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                messages.success(request, f"Guideline version {current.version} published.")
                return redirect("projects:guidelines", slug=slug)
        else:
            status = 400
    versions = Guideline.objects.filter(project=project).select_related("created_by")
    context = {
        "project": project,
        "access": access,
        "current": current,
        "versions": versions,
        "form": form,
        "needs_ack": current is not None and services.needs_acknowledgement(project, request.user),
    }
    return render(request, "projects/guidelines.html", context, status=status)


@login_required
@require_POST
def guideline_acknowledge(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    try:
        ack = services.acknowledge_guideline(project=access.project, user=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"You acknowledged guideline version {ack.guideline.version}.")
    next_url = request.POST.get("next") or ""
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("projects:detail", slug=slug)


@staff_member_required
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.create_user(**form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                messages.success(request, f"User {user.username} created.")
                return redirect("users")
        else:
            status = 400
    people = User.objects.order_by("username")
    return render(request, "projects/users.html", {"form": form, "people": people}, status=status)
