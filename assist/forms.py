"""Forms of the Model pages. They only collect typed values; the services validate and
say what is wrong, so the pages and the API refuse the same things with the same words."""

from __future__ import annotations

from typing import Any

from django import forms

from annotation.models import Queue
from annotation.states import State
from assist.models import Endpoint, PromptKind, PromptVersion, Sample
from projects.models import Project


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=100)
    base_url = forms.CharField(
        label="Base URL", max_length=500, help_text="Up to /v1, e.g. http://127.0.0.1:11434/v1"
    )
    model = forms.CharField(max_length=200, help_text="As the server names it, e.g. gpt-4o-mini.")
    family = forms.CharField(
        max_length=50,
        required=False,
        help_text="Filled from the model's name when left blank; a judge must be of another family.",
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_api_key = forms.BooleanField(label="Remove the stored key", required=False)
    api_key_env = forms.CharField(
        label="…or the environment variable holding it",
        max_length=100,
        required=False,
        help_text="e.g. OPENAI_API_KEY, read by the workers.",
    )
    timeout = forms.FloatField(initial=60, help_text="Seconds per call.")
    max_concurrency = forms.IntegerField(initial=4, label="Max concurrency")
    rpm = forms.IntegerField(required=False, label="Requests per minute")
    tpm = forms.IntegerField(required=False, label="Tokens per minute")
    supports_json_schema = forms.BooleanField(required=False, label="Supports JSON schema output")
    supports_seed = forms.BooleanField(required=False, label="Supports seed")
    supports_n = forms.BooleanField(required=False, label="Supports n")
    price_input = forms.DecimalField(
        required=False, label="Price per million input tokens", decimal_places=4, min_value=0
    )
    price_output = forms.DecimalField(
        required=False, label="Price per million output tokens", decimal_places=4, min_value=0
    )

    def __init__(self, *args: Any, endpoint: Endpoint | None = None, **kwargs: Any) -> None:
        if endpoint is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                f: getattr(endpoint, f)
                for f in self.base_fields
                if f not in ("api_key", "clear_api_key")
            }
        super().__init__(*args, **kwargs)
        self.fields["model"].widget.attrs["data-family-source"] = ""
        self.fields["family"].widget.attrs["data-family-target"] = ""
        if endpoint is not None and endpoint.api_key_encrypted:
            self.fields[
                "api_key"
            ].help_text = "A key is stored. Leave blank to keep it, type a new one to replace it."
        else:
            self.fields.pop("clear_api_key")
            self.fields["api_key"].help_text = "Stored encrypted; never shown again."

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        clear = data.pop("clear_api_key", False)
        key = data.pop("api_key", "")
        if clear:
            data["api_key"] = ""
        elif key:
            data["api_key"] = key
        return data


class PromptForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=PromptKind.choices)
    system = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}), strip=False
    )
    template = forms.CharField(
        label="User template",
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        strip=False,
        help_text=(
            "Placeholders: {{prompt}}, {{conversation}}, {{system}}, {{draft}}, {{answer}}, "
            "{{reference}}, {{instruction}}, {{input}}, {{tags}}, {{metadata.<key>}}."
        ),
    )
    temperature = forms.FloatField(required=False)
    max_tokens = forms.IntegerField(required=False, label="Max tokens")
    seed = forms.IntegerField(required=False)
    top_p = forms.FloatField(required=False, label="Top p")
    labels = forms.CharField(
        required=False,
        help_text="Comma-separated, e.g. production. A label moves here from the version that had it.",
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    FROZEN = ("kind", "system", "template", "temperature", "max_tokens", "seed", "top_p")

    def __init__(self, *args: Any, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if locked:
            for name in self.FROZEN:
                self.fields[name].disabled = True

    @staticmethod
    def initial_for(
        version: PromptVersion | None, base: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        source = base or (
            {
                "name": version.name,
                "kind": version.kind,
                "system": version.system,
                "template": version.template,
                "params": version.params,
                "labels": version.labels,
                "parent": version.parent_id,
            }
            if version
            else {"kind": PromptKind.DRAFT, "template": "{{prompt}}"}
        )
        initial = {k: v for k, v in source.items() if k not in ("params", "labels")}
        initial.update(source.get("params") or {})
        initial["labels"] = ", ".join(source.get("labels") or [])
        return initial

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        params = {k: data.pop(k) for k in ("temperature", "max_tokens", "seed", "top_p")}
        data["params"] = {k: v for k, v in params.items() if v is not None}
        return data


def _set_choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _queue_choices(project: Project) -> list[tuple[str, str]]:
    return [("", "any queue")] + [
        (str(q.pk), q.name) for q in Queue.objects.filter(project=project).order_by("name")
    ]


class FilterFields(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "any state"), *State.choices])
    tag = forms.CharField(required=False, max_length=100)
    queue = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "queue", _queue_choices(project))

    def filter(self) -> dict[str, Any]:
        return {
            k: self.cleaned_data.get(k)
            for k in ("state", "tag", "queue")
            if self.cleaned_data.get(k)
        }


class SampleForm(FilterFields):
    name = forms.CharField(required=False, max_length=100, help_text="Optional.")
    size = forms.IntegerField(initial=20, help_text="1 to 500.")
    seed = forms.IntegerField(required=False, help_text="Leave blank for a random one (stored).")

    field_order = ["name", "size", "seed", "state", "tag", "queue"]


def _run_choices(project: Project) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    endpoint_choices = [(e.pk, str(e)) for e in Endpoint.objects.filter(project=project)]
    prompt_choices = [
        (p.pk, p.name + (f" [{', '.join(p.labels)}]" if p.labels else ""))
        for p in PromptVersion.objects.filter(project=project, kind=PromptKind.DRAFT)
    ]
    return endpoint_choices, prompt_choices


class TrialForm(forms.Form):
    prompt = forms.TypedChoiceField(coerce=int, label="Prompt version")
    endpoint = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        endpoint_choices, prompt_choices = _run_choices(project)
        _set_choices(self, "endpoint", endpoint_choices)
        _set_choices(self, "prompt", prompt_choices)


class RunForm(FilterFields):
    prompt = forms.TypedChoiceField(coerce=int, label="Prompt version")
    endpoint = forms.TypedChoiceField(coerce=int)

    field_order = ["prompt", "endpoint", "state", "tag", "queue"]

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, project=project, **kwargs)
        endpoint_choices, prompt_choices = _run_choices(project)
        _set_choices(self, "endpoint", endpoint_choices)
        _set_choices(self, "prompt", prompt_choices)
        self.fields["state"].initial = State.QUEUED


def sample_choices(project: Project) -> list[Sample]:
    return list(Sample.objects.filter(project=project)[:50])
