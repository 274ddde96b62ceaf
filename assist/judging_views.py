"""Pages of the judge: the list of judgement runs with the form that starts one (also
the Model page's section), a run's report, and the comparison of two runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from assist import judging, prompts, reports
from assist.judging_forms import JudgeRunForm
from assist.models import PromptKind
from core.htmx import HtmxHttpRequest, add_form_errors, render_page
from projects.access import project_access
from projects.models import Job, Project, Role

RUNS_SHOWN = 20
RUNNING = ("pending", "running")


def section_context(project: Project, form: JudgeRunForm | None = None) -> dict[str, Any]:
    """What the judge's section of the Model page shows (a fixed number of queries)."""
    runs = list(Job.objects.filter(project=project, kind=judging.KIND).order_by("-pk")[:RUNS_SHOWN])
    return {
        "project": project,
        "runs": [{"job": job, "info": reports.run_info(job)} for job in runs],
        "running": any(job.status in RUNNING for job in runs),
        "form": form or JudgeRunForm(project=project, initial={"target": "generation"}),
    }


@login_required
@require_GET
def judge_runs(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The judgement runs and the form, as a page (htmx polls its section while a run
    is going)."""
    access = project_access(request.user, slug, Role.ADMIN)
    context = {**section_context(access.project), "access": access}
    return render_page(request, "assist/judge_runs.html", context, partial="section")


@login_required
@require_POST
def judge_start(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Start a run from the form; a refusal (e.g. same family) is shown beside the
    field it concerns, with what was chosen kept."""
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    form = JudgeRunForm(request.POST, project=project)
    if form.is_valid():
        try:
            job = judging.start_judgement(
                project=project, actor=request.user, **form.start_arguments()
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request, f"Judging {job.total} items in the background (run {job.pk})."
            )
            report = reverse("assist:judge-report", args=[project.slug, job.pk])
            return HttpResponseClientRedirect(report) if request.htmx else redirect(report)
    context = {**section_context(project, form), "access": access}
    # 200 so htmx swaps the section in with the errors; the page for a plain POST.
    return render_page(request, "assist/judge_runs.html", context, partial="section")


@login_required
@require_GET
def judge_report(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    """One run's report: distribution, mean with its interval, lowest-scored items and
    the breakdowns (three queries whatever the run's size)."""
    access = project_access(request.user, slug, Role.ADMIN)
    job = judging.project_run(access.project, job_id)
    report = reports.judgement_report(job)
    context = {
        "project": access.project,
        "access": access,
        "job": job,
        "report": report,
        "running": job.status in RUNNING,
        "model_url": model_page(access.project),
    }
    return render_page(request, "assist/judge_report.html", context, partial="report")


@login_required
@require_GET
def judge_compare(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Two runs side by side over the same items: paired deltas, wins/ties/losses and
    the items that changed most. Without ``a`` and ``b``, the form to choose them."""
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    runs = list(
        Job.objects.filter(project=project, kind=judging.KIND, status="succeeded").order_by("-pk")[
            :100
        ]
    )
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    comparison = None
    if a and b:
        comparison = reports.compare_runs(
            judging.project_run(project, a), judging.project_run(project, b)
        )
    context = {
        "project": project,
        "access": access,
        "runs": [{"job": job, "info": reports.run_info(job)} for job in runs],
        "a": a,
        "b": b,
        "comparison": comparison,
        "model_url": model_page(project),
    }
    return render_page(request, "assist/judge_compare.html", context)


@login_required
@require_POST
def judge_cancel(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    job = judging.project_run(access.project, job_id)
    if judging.cancel_judgement(job):
        messages.success(request, f"Run {job.pk} stops after the items in flight.")
    return redirect(reverse("assist:judge-report", args=[access.project.slug, job.pk]))


@login_required
@require_POST
def judge_default_prompt(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Create a judge prompt version from the default five-point scale and open it."""
    access = project_access(request.user, slug, Role.ADMIN)
    version = prompts.create_prompt(
        project=access.project,
        actor=request.user,
        name=judging.default_prompt_name(access.project),
        kind=PromptKind.JUDGE,
        system=judging.DEFAULT_JUDGE_SYSTEM,
        template=judging.DEFAULT_JUDGE_TEMPLATE,
        params={"temperature": 0},
    )
    messages.success(request, f"Created the judge prompt “{version.name}”; edit it before use.")
    return redirect("assist:prompt", access.project.slug, version.pk)


def model_page(project: Project) -> str:
    """The project's Model page, where the judge's section lives."""
    return reverse("assist:page", args=[project.slug])
