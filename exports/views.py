"""The Export page: the form, the history of exports with live progress, downloads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_safe

from core.htmx import HtmxHttpRequest, add_form_errors, render_page
from core.models import JobStatus
from exports import services
from exports.api import download_response
from exports.formats import FORMAT_HELP, FORMAT_LABELS, FORMATS, PROMPT_COMPLETION
from exports.models import ExportJob
from projects.access import project_access
from projects.models import Membership, Project, Role
from reviews.models import ReviewStage

ESCAPES_HELP = r"Write \n for a new line and \t for a tab."


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\t", "\t")


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(f, FORMAT_LABELS[f]) for f in FORMATS])
    validation = forms.FloatField(
        label="Validation share",
        required=False,
        min_value=0,
        max_value=0.5,
        help_text="0 for one file; e.g. 0.1 for a zip with train.jsonl and validation.jsonl "
        "(items keep their side across exports).",
    )
    seed = forms.IntegerField(label="Split seed", initial=42, required=False)
    dedup = forms.BooleanField(label="Remove exact duplicate rows", required=False)
    include_metadata = forms.BooleanField(
        label="Add a metadata key (ids, tags, source, licence)", required=False
    )
    system_prompt = forms.CharField(
        label="System prompt to add",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Added in front of conversations that have no system message.",
    )
    tags = forms.CharField(
        label="Only items tagged", required=False, help_text="Comma-separated; any of them."
    )
    stage = forms.TypedChoiceField(
        label="Reached review stage", required=False, coerce=int, empty_value=None
    )
    approved_from = forms.DateField(
        label="Approved from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    approved_to = forms.DateField(
        label="Approved until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    annotator = forms.ChoiceField(label="Written by", required=False)
    template = forms.CharField(
        label="Prompt template",
        required=False,
        initial="{prompt}",
        help_text="Prompt-completion only; {prompt} marks where the prompt goes.",
    )
    completion_prefix = forms.CharField(
        label="Completion prefix", required=False, strip=False, help_text=ESCAPES_HELP
    )
    separator = forms.CharField(
        label="Separator after the prompt", required=False, strip=False, help_text=ESCAPES_HELP
    )
    stop = forms.CharField(
        label="Stop sequence after the completion",
        required=False,
        strip=False,
        help_text=ESCAPES_HELP,
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = ReviewStage.objects.filter(project=project).order_by("position")
        stage_field, annotator_field = self.fields["stage"], self.fields["annotator"]
        assert isinstance(stage_field, forms.ChoiceField)
        assert isinstance(annotator_field, forms.ChoiceField)
        # Numbered from 1 as everywhere else in the UI; the value (and the API's ``stage``)
        # stays the stage's position, 0 for the first.
        stage_field.choices = [("", "Any")] + [
            (s.position, f"{s.position + 1}: {s.name}") for s in stages
        ]
        usernames = Membership.objects.filter(project=project).values_list(
            "user__username", flat=True
        )
        annotator_field.choices = [("", "Anyone")] + [(u, u) for u in sorted(usernames)]

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        options: dict[str, Any] = {
            "format": data["format"],
            "split": {"validation": data["validation"], "seed": data["seed"] or 0}
            if data.get("validation")
            else None,
            "dedup": data["dedup"],
            "include_metadata": data["include_metadata"],
            "system_prompt": data["system_prompt"],
            "filters": {
                "tags": data["tags"],
                "stage": data["stage"],
                "approved_from": data["approved_from"].isoformat()
                if data["approved_from"]
                else None,
                "approved_to": data["approved_to"].isoformat() if data["approved_to"] else None,
                "annotator": data["annotator"],
            },
        }
        if data["format"] == PROMPT_COMPLETION:
            options["template"] = data["template"] or "{prompt}"
            for key in ("completion_prefix", "separator", "stop"):
                options[key] = _unescape(data[key])
        return options


def _history(project: Project) -> list[ExportJob]:
    return list(
        ExportJob.objects.filter(project=project)
        .defer("snapshot", "manifest")
        .select_related("created_by")
        .order_by("-created_at", "-id")[:30]
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    form = ExportForm(request.POST or None, project=project)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = services.create_export(
                    project=project, user=request.user, options=form.options()
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Export #{job.pk} started.")
                return redirect("export", slug=project.slug)
        status = 400
    history = _history(project)
    active = any(job.status in (JobStatus.PENDING, JobStatus.RUNNING) for job in history)
    context = {
        "project": project,
        "access": access,
        "form": form,
        "history": history,
        "active": active,
        "format_help": [(f, FORMAT_HELP[f]) for f in FORMATS],
    }
    # The history refreshes itself while an export runs; a posted form gets the page.
    partial = "history" if request.method == "GET" else None
    return render_page(request, "exports/export.html", context, partial=partial, status=status)


@login_required
@require_safe
def export_download(request: HtmxHttpRequest, slug: str, export_id: int) -> HttpResponseBase:
    access = project_access(request.user, slug, Role.ADMIN)
    job = (
        ExportJob.objects.defer("snapshot")
        .select_related("project")
        .filter(pk=export_id, project=access.project)
        .first()
    )
    if job is None:
        raise Http404("No such export.")
    try:
        return download_response(job, manifest=request.GET.get("file") == "manifest.json")
    except ValidationError:
        raise Http404("This export has no file yet.") from None
