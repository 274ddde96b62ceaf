"""Pages for projects, members, guidelines and users. Each page renders whole, or
just its section when htmx asks, so everything also works without JavaScript."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.htmx import HtmxHttpRequest, add_form_errors
from projects import services
from projects.access import (
    CREATE_NOT_ALLOWED,
    may_create_projects,
    project_access,
    visible_projects,
)
from projects.forms import GuidelineForm, ProjectForm, UserForm
from projects.models import Guideline, Membership, Role

User = get_user_model()

STAFF_ONLY = "Only instance staff manage user accounts."


@login_required
@require_safe
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    mine = Membership.objects.filter(project=OuterRef("pk"), user_id=request.user.pk)
    projects = (
        visible_projects(request.user)
        .annotate(item_count=Count("items"), role=Subquery(mine.values("role")[:1]))
        .order_by("name")
    )
    context = {"projects": projects, "may_create": may_create_projects(request.user)}
    return render(request, "projects/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    if not may_create_projects(request.user):
        raise PermissionDenied(CREATE_NOT_ALLOWED)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(creator=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created. You are its admin.")
            return redirect("overview:project", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "projects/form.html", {"form": form, "project": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    form = ProjectForm(request.POST or None, instance=access.project)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
            project = services.update_project(project=access.project, **fields)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Project settings saved.")
            return redirect("overview:project", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "project": access.project, "access": access}
    return render(request, "projects/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def guidelines(request: HtmxHttpRequest, slug: str) -> HttpResponse:
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
                    author=request.user,
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
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
def guideline_acknowledge(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    try:
        ack = services.acknowledge_guideline(project=access.project, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"You acknowledged guideline version {ack.guideline.version}.")
    next_url = request.POST.get("next") or ""
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("overview:project", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def users(request: HtmxHttpRequest) -> HttpResponse:
    """Instance staff create accounts here; anyone else is told they may not."""
    if not request.user.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    form = UserForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.create_user(**form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
                status = 400
            else:
                messages.success(request, f"User {user.username} created.")
                return redirect("projects:users")
        else:
            status = 400
    people = User.objects.order_by("username").prefetch_related("user_permissions")
    rows = [
        (p, p.is_staff or any(perm.codename == "add_project" for perm in p.user_permissions.all()))
        for p in people
    ]
    return render(request, "projects/users.html", {"form": form, "people": rows}, status=status)


@login_required
@require_POST
def user_creator(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """Staff allow or stop a user creating projects."""
    if not request.user.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    person = get_object_or_404(User, pk=user_id)
    allowed = request.POST.get("allowed") == "1"
    services.allow_creating_projects(user=person, allowed=allowed)
    verb = "may now create" if allowed else "may no longer create"
    messages.success(request, f"{person.username} {verb} projects.")
    return redirect("projects:users")
