"""The form that starts a judgement run from the Model page."""

from __future__ import annotations

from typing import Any

from django import forms

from assist.models import Endpoint, PromptKind, PromptVersion, Sample
from projects.models import Job, Project

RUN_CHOICES = 50  # generation runs offered, newest first


class JudgeRunForm(forms.Form):
    prefix = "judge"  # the Model page has other forms with fields of the same names

    endpoint = forms.ModelChoiceField(
        queryset=Endpoint.objects.none(),
        label="Judge endpoint",
        help_text="Best from another family than the model that drafted the items.",
    )
    prompt = forms.ModelChoiceField(queryset=PromptVersion.objects.none(), label="Judge prompt")
    target = forms.ChoiceField(
        choices=[
            ("generation", "A generation run's outputs"),
            ("drafts", "The items' model drafts"),
            ("answers", "The items' current answers"),
        ],
        label="What to judge",
    )
    generation = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Generation run"
    )
    sample = forms.ModelChoiceField(
        queryset=Sample.objects.none(),
        required=False,
        empty_label="All items",
        label="Sample",
    )
    allow_same_family = forms.BooleanField(
        required=False,
        label="Allow a judge of the drafting model's family (shown on every report)",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        endpoint = self.fields["endpoint"]
        prompt = self.fields["prompt"]
        sample = self.fields["sample"]
        assert isinstance(endpoint, forms.ModelChoiceField)
        assert isinstance(prompt, forms.ModelChoiceField)
        assert isinstance(sample, forms.ModelChoiceField)
        endpoint.queryset = Endpoint.objects.filter(project=project).order_by("name")
        prompt.queryset = PromptVersion.objects.filter(project=project, kind=PromptKind.JUDGE)
        sample.queryset = Sample.objects.filter(project=project)
        runs = Job.objects.filter(project=project, kind="generation").order_by("-pk")
        generation = self.fields["generation"]
        assert isinstance(generation, forms.TypedChoiceField)
        generation.choices = [("", "—")] + [
            (job.pk, f"Run {job.pk} · {job.params.get('prompt_name', '')} · "
             f"{job.params.get('model', '')}")
            for job in runs[:RUN_CHOICES]
        ]  # fmt: skip

    def start_arguments(self) -> dict[str, Any]:
        """The validated choices as ``judging.start_judgement`` takes them."""
        data = self.cleaned_data
        target = data["target"]
        return {
            "endpoint": data["endpoint"].pk,
            "prompt": data["prompt"].pk,
            "sample": data["sample"].pk if data.get("sample") else None,
            "target": target,
            "generation": data.get("generation") if target == "generation" else None,
            "allow_same_family": data.get("allow_same_family", False),
        }
