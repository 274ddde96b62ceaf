"""The project's Model pages (admins only): endpoints, prompt versions with a preview
on a real item, samples where versions are tried and compared, and generation runs.
Every form posts normally and works without JavaScript; htmx swaps parts in place."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotation.models import Item
from assist import endpoints, generation, prompts, samples
from assist.families import FAMILIES
from assist.forms import EndpointForm, PromptForm, RunForm, SampleForm, TrialForm
from assist.models import Endpoint, Generation, PromptVersion, Rating, Sample
from core.htmx import HtmxHttpRequest, add_form_errors, render_page
from projects.access import ProjectAccess, project_access
from projects.models import Job, Role

RECENT_RUNS = 20
RUN_ROWS = 200


def _access(request: HtmxHttpRequest, slug: str) -> ProjectAccess:
    return project_access(request.user, slug, Role.ADMIN)


def _row(model: type[Any], access: ProjectAccess, pk: int) -> Any:
    row = model.objects.filter(project=access.project, pk=pk).first()
    if row is None:
        raise Http404("Not found.")
    return row


def _page(access: ProjectAccess, **extra: Any) -> dict[str, Any]:
    return {"project": access.project, "access": access, "tab": "model", **extra}


def _runs(access: ProjectAccess) -> list[Job]:
    return list(
        Job.objects.filter(project=access.project, kind=generation.KIND).order_by(
            "-created_at", "-pk"
        )[:RECENT_RUNS]
    )


def _runs_context(access: ProjectAccess) -> dict[str, Any]:
    runs = _runs(access)
    return {"runs": runs, "running": any(not r.finished for r in runs)}


@login_required
@require_safe
def model_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    project = access.project
    context = _page(
        access,
        endpoints=list(Endpoint.objects.filter(project=project)),
        prompts=list(PromptVersion.objects.filter(project=project).select_related("parent")),
        samples=list(Sample.objects.filter(project=project)[:50]),
        sample_form=SampleForm(project=project),
        run_form=RunForm(project=project),
        **_runs_context(access),
    )
    return render_page(request, "assist/model.html", context)


@login_required
@require_safe
def runs_section(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The runs list alone: the Model page polls it while a run is going."""
    access = _access(request, slug)
    return render(request, "assist/_runs.html", _page(access, **_runs_context(access)))


# -- endpoints ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_form(
    request: HtmxHttpRequest, slug: str, endpoint_id: int | None = None
) -> HttpResponse:
    access = _access(request, slug)
    endpoint = _row(Endpoint, access, endpoint_id) if endpoint_id else None
    form = EndpointForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            saved = endpoints.save_endpoint(
                project=access.project, data=form.service_data(), endpoint=endpoint
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved endpoint “{saved.name}”.")
            return redirect("assist:endpoint", slug, saved.pk)
    context = _page(access, form=form, endpoint=endpoint, families=[list(f) for f in FAMILIES])
    return render_page(
        request, "assist/endpoint_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def endpoint_test(request: HtmxHttpRequest, slug: str, endpoint_id: int) -> HttpResponse:
    """One time-boxed call; the result replaces the button's result area."""
    access = _access(request, slug)
    endpoint = _row(Endpoint, access, endpoint_id)
    result = endpoints.try_endpoint(endpoint)
    context = _page(access, endpoint=endpoint, result=result)
    if request.htmx:
        return render(request, "assist/_test_result.html", context)
    form = EndpointForm(endpoint=endpoint)
    context.update(form=form, families=[list(f) for f in FAMILIES])
    return render(request, "assist/endpoint_form.html", context)


@login_required
@require_POST
def endpoint_delete(request: HtmxHttpRequest, slug: str, endpoint_id: int) -> HttpResponse:
    access = _access(request, slug)
    endpoint = _row(Endpoint, access, endpoint_id)
    try:
        endpoints.delete_endpoint(endpoint=endpoint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("assist:endpoint", slug, endpoint_id)
    messages.success(request, f"Removed endpoint “{endpoint.name}”.")
    return redirect("assist:page", slug)


# -- prompt versions ----------------------------------------------------------------


def _prompt_save(
    access: ProjectAccess, request: HtmxHttpRequest, form: PromptForm, version: PromptVersion | None
) -> PromptVersion:
    data = form.service_data()
    if version is None:
        return prompts.create_prompt(project=access.project, actor=request.user, **data)
    changes = {k: v for k, v in data.items() if k != "parent"}
    if version.used_at is not None:
        changes = {k: changes[k] for k in ("name", "labels")}
    return prompts.update_prompt(version=version, changes=changes)


@login_required
@require_http_methods(["GET", "POST"])
def prompt_form(request: HtmxHttpRequest, slug: str, prompt_id: int | None = None) -> HttpResponse:
    """New version (``?from=<id>`` starts from another one, as its child) or edit one;
    a used version shows its text frozen and only its name and labels editable."""
    access = _access(request, slug)
    version = _row(PromptVersion, access, prompt_id) if prompt_id else None
    locked = bool(version and version.used_at)
    base = None
    source = request.GET.get("from", "")
    if version is None and source.isdigit():
        base = prompts.child_initial(_row(PromptVersion, access, int(source)))
    form = PromptForm(
        request.POST or None, locked=locked, initial=PromptForm.initial_for(version, base)
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = _prompt_save(access, request, form, version)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved prompt version “{saved.name}”.")
            return redirect("assist:prompt", slug, saved.pk)
    items = list(
        Item.objects.filter(project=access.project)
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    context = _page(access, form=form, version=version, locked=locked, items=items, base=base)
    return render_page(
        request, "assist/prompt_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_safe
def prompt_preview(request: HtmxHttpRequest, slug: str, prompt_id: int) -> HttpResponse:
    """The exact messages the version sends for the chosen item (``?item=<id>``)."""
    access = _access(request, slug)
    version = _row(PromptVersion, access, prompt_id)
    raw = request.GET.get("item", "")
    item = (
        Item.objects.filter(project=access.project, pk=int(raw))
        .select_related("current_revision")
        .first()
        if raw.isdigit()
        else Item.objects.filter(project=access.project)
        .order_by("pk")
        .select_related("current_revision")
        .first()
    )
    context = _page(
        access, version=version, item=item, sent=prompts.preview(version, item) if item else []
    )
    return render_page(request, "assist/prompt_preview.html", context, partial="preview")


# -- samples and trials -------------------------------------------------------------


@login_required
@require_POST
def sample_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    form = SampleForm(request.POST, project=access.project)
    if form.is_valid():
        try:
            sample = samples.create_sample(
                project=access.project,
                actor=request.user,
                size=form.cleaned_data["size"],
                seed=form.cleaned_data.get("seed"),
                filter=form.filter(),
                name=form.cleaned_data.get("name") or "",
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Drew sample “{sample.name}”.")
            return redirect("assist:sample", slug, sample.pk)
    else:
        messages.error(request, "Check the sample's size and seed: whole numbers.")
    return redirect(reverse("assist:page", args=[slug]) + "#samples")


def _run_rows(run: Job, user: Any) -> list[dict[str, Any]]:
    """Each item of a run with its prompt as sent and the draft, and the viewer's mark."""
    rows = list(
        Generation.objects.filter(job=run).select_related("item", "item__current_revision")[
            :RUN_ROWS
        ]
    )
    marks = {r.generation_id: r for r in Rating.objects.filter(generation__job=run, user=user)}
    version = PromptVersion.objects.filter(pk=run.params.get("prompt")).first()
    out = []
    for g in rows:
        sent = prompts.preview(version, g.item) if version else []
        out.append({"g": g, "sent": sent, "rating": marks.get(g.pk)})
    return out


@login_required
@require_http_methods(["GET", "POST"])
def sample_page(request: HtmxHttpRequest, slug: str, sample_id: int) -> HttpResponse:
    """Try a version on the sample (a trial run), read prompt and draft side by side and
    mark them, and compare every version's latest trial in one grid."""
    access = _access(request, slug)
    sample = _row(Sample, access, sample_id)
    form = TrialForm(request.POST or None, project=access.project)
    if request.method == "POST" and form.is_valid():
        try:
            run = generation.start_generation(
                project=access.project,
                actor=request.user,
                endpoint=form.cleaned_data["endpoint"],
                prompt=form.cleaned_data["prompt"],
                sample=sample.pk,
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return redirect(reverse("assist:sample", args=[slug, sample.pk]) + f"?run={run.pk}")
    runs, rows = samples.sample_grid(sample, differences_only=request.GET.get("diff") == "1")
    raw = request.GET.get("run", "")
    current = next((r for r in runs if str(r.pk) == raw), None)
    if current is None and raw.isdigit():
        current = Job.objects.filter(
            project=access.project, pk=int(raw), params__sample=sample.pk
        ).first()
    if current is None and runs:
        current = runs[0]
    context = _page(
        access,
        sample=sample,
        form=form,
        runs=runs,
        rows=rows,
        diff=request.GET.get("diff") == "1",
        current=current,
        current_rows=_run_rows(current, request.user) if current else [],
    )
    partial = "grid" if request.GET.get("part") == "grid" else "trial"
    return render_page(request, "assist/sample.html", context, partial=partial)


@login_required
@require_POST
def rate(request: HtmxHttpRequest, slug: str, generation_id: int) -> HttpResponse:
    access = _access(request, slug)
    row = (
        Generation.objects.filter(pk=generation_id, job__project=access.project)
        .select_related("job")
        .first()
    )
    if row is None:
        raise Http404("Not found.")
    error = ""
    rating = None
    try:
        rating = samples.rate_generation(
            generation=row,
            user=request.user,
            verdict=request.POST.get("verdict", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        context = _page(access, r={"g": row, "rating": rating}, error=error)
        return render(request, "assist/_rating.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    sample_id = row.job.params.get("sample")
    if sample_id:
        return redirect(
            reverse("assist:sample", args=[slug, sample_id]) + f"?run={row.job_id}#g{row.pk}"
        )
    return redirect("assist:run", slug, row.job_id)


# -- generation runs ----------------------------------------------------------------


@login_required
@require_POST
def run_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Draft the project's items (those the filter matches) with a version."""
    access = _access(request, slug)
    form = RunForm(request.POST, project=access.project)
    if form.is_valid():
        try:
            run = generation.start_generation(
                project=access.project,
                actor=request.user,
                endpoint=form.cleaned_data["endpoint"],
                prompt=form.cleaned_data["prompt"],
                filter=form.filter(),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"Drafting {run.total} items in the background (run {run.pk})."
            )
            return redirect("assist:run", slug, run.pk)
    else:
        messages.error(request, "Choose a prompt version and an endpoint.")
    return redirect(reverse("assist:page", args=[slug]) + "#runs")


@login_required
@require_safe
def run_page(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    access = _access(request, slug)
    run = Job.objects.filter(project=access.project, pk=job_id, kind=generation.KIND).first()
    if run is None:
        raise Http404("Not found.")
    rows = list(Generation.objects.filter(job=run).order_by("item_id")[:RUN_ROWS])
    context = _page(access, run=run, rows=rows)
    return render_page(request, "assist/run.html", context, partial="status")


@login_required
@require_POST
def run_cancel(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    access = _access(request, slug)
    run = Job.objects.filter(project=access.project, pk=job_id, kind=generation.KIND).first()
    if run is None:
        raise Http404("Not found.")
    try:
        generation.cancel_run(job=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Run {run.pk} cancelled; what it drafted is kept.")
    return redirect("assist:run", slug, run.pk)
