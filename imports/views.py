"""The Import page: upload (drag and drop or file picker), map CSV columns, watch the
job's progress, read and download its report. Works without JavaScript; with htmx
the progress section refreshes itself."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.csvsafe import csv_text
from core.htmx import HtmxHttpRequest, add_form_errors, render_page
from core.models import JobStatus
from imports import formats, services
from imports.models import ImportJob
from imports.pipeline import DELIMITED
from imports.services import written_so_far
from projects.access import ProjectAccess, project_access
from projects.models import Role

ERRORS_ON_PAGE = 500


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File", help_text="JSON lines, JSON, CSV or TSV; gzip (.gz) is fine."
    )
    format = forms.ChoiceField(
        choices=[("auto", "Detect automatically"), *formats.FORMATS.items()], initial="auto"
    )
    oasst_mode = forms.ChoiceField(
        label="OpenAssistant trees",
        choices=[
            (formats.OASST_PATHS, "One item per conversation path"),
            (formats.OASST_PROMPTS, "Only the first prompt of each tree"),
        ],
        initial=formats.OASST_PATHS,
        required=False,
    )
    source = forms.CharField(
        required=False, max_length=200, help_text="Where the data comes from (kept on each item)."
    )
    licence = forms.CharField(
        required=False, max_length=100, help_text="e.g. Apache-2.0, CC-BY-4.0"
    )
    skip_invalid = forms.BooleanField(
        required=False, label="Skip invalid rows (import the valid ones)"
    )
    skip_duplicates = forms.BooleanField(required=False, label="Skip exact duplicate prompts")


def _job(access: ProjectAccess, import_id: int) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.select_related("project"), pk=import_id, project=access.project
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {k: data[k] for k in ("source", "licence") if data[k]}
        if data["oasst_mode"] == formats.OASST_PROMPTS:
            options["oasst_mode"] = formats.OASST_PROMPTS
        try:
            job = services.create_import_job(
                project=project,
                user=request.user,
                file=data["file"],
                filename=data["file"].name,
                format=data["format"],
                skip_invalid=data["skip_invalid"],
                skip_duplicates=data["skip_duplicates"],
                options=options,
                start=False,
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return _after_upload(job, data["format"])
    jobs = ImportJob.objects.filter(project=project).order_by("-created_at")[:20]
    context = {"project": project, "access": access, "form": form, "jobs": jobs, "tab": "import"}
    return render(request, "imports/import.html", context, status=400 if form.errors else 200)


def _after_upload(job: ImportJob, format: str) -> HttpResponse:
    """A CSV goes to the column mapping step; any other file starts at once. A file that
    cannot be read fails the job there and then, and its page says why."""
    slug = job.project.slug
    if format in ("auto", formats.CSV):
        try:
            delimited = services.preview_file(job=job, rows=0)["container"] == DELIMITED
        except ValidationError:
            return redirect("imports:detail", slug=slug, import_id=job.pk)
        if delimited:
            job.phase = "mapping"
            job.save(update_fields=["phase"])
            return redirect("imports:columns", slug=slug, import_id=job.pk)
    services.start_import(job=job)
    return redirect("imports:detail", slug=slug, import_id=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_columns(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    if job.status != JobStatus.PENDING or job.phase != "mapping":
        return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)
    try:
        preview = services.preview_file(job=job)
    except ValidationError:  # the job has failed with the reason; its page shows it
        return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)
    error = ""
    if request.method == "POST":
        columns = {
            role: request.POST.get(f"column_{role}", "")
            for role in formats.CSV_ROLES
            if request.POST.get(f"column_{role}")
        }
        if not columns.get("prompt"):
            error = "Choose the column that holds the prompt."
        else:
            try:
                services.start_import(job=job, options={"columns": columns})
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)
        preview["columns"] = columns
    roles = [
        (role, label, preview["columns"].get(role, ""))
        for role, label in (
            ("prompt", "Prompt (required)"),
            ("input", "Extra input appended to the prompt"),
            ("response", "Response (model draft or reference)"),
            ("system", "System message"),
            ("external_id", "External id"),
            ("tags", "Tags (comma-separated)"),
            ("priority", "Priority (whole number)"),
            ("source", "Source"),
            ("licence", "Licence"),
        )
    ]
    context = {
        "project": access.project,
        "access": access,
        "job": job,
        "preview": preview,
        "roles": roles,
        "error": error,
        "tab": "import",
    }
    return render(request, "imports/columns.html", context, status=400 if error else 200)


@login_required
@require_safe
def import_detail(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    if job.status == JobStatus.PENDING and job.phase == "mapping":
        return redirect("imports:columns", slug=access.project.slug, import_id=job.pk)
    context = {
        "project": access.project,
        "access": access,
        "job": job,
        "written": written_so_far(job) if job.phase == "writing" else None,
        "errors": job.errors[:ERRORS_ON_PAGE],
        "more_errors": max(0, len(job.errors) - ERRORS_ON_PAGE),
        "unlisted": max(0, job.invalid - len(job.errors)),
        "can_rerun": job.status == JobStatus.FAILED and job.invalid > 0 and job.valid > 0,
        "tab": "import",
    }
    return render_page(request, "imports/job.html", context, partial="job")


@login_required
@require_POST
def import_cancel(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    try:
        services.cancel_import(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Cancelling the import; nothing will be written.")
    return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)


@login_required
@require_POST
def import_remove(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    try:
        services.delete_import(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)
    messages.success(request, f"Removed the import of {job.filename}; the items it made stay.")
    return redirect("imports:page", slug=access.project.slug)


@login_required
@require_POST
def import_rerun(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    try:
        again = services.rerun_import(
            job=job,
            user=request.user,
            skip_invalid=request.POST.get("skip_invalid", "1") == "1",
            skip_duplicates=request.POST.get("skip_duplicates") == "1" or job.skip_duplicates,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:detail", slug=access.project.slug, import_id=job.pk)
    return redirect("imports:detail", slug=access.project.slug, import_id=again.pk)


@login_required
@require_safe
def import_errors_csv(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    """The error report as CSV: line, field, message."""
    access = project_access(request.user, slug, Role.ADMIN)
    job = _job(access, import_id)
    rows = ([e.get("line") or "", e.get("field", ""), e.get("message", "")] for e in job.errors)
    response = HttpResponse(
        csv_text(["line", "field", "message"], rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
