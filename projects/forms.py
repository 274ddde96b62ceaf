from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from projects.models import Project, Role, clean_choices

if TYPE_CHECKING:
    _ProjectModelForm = forms.ModelForm[Project]
else:
    _ProjectModelForm = forms.ModelForm  # not subscriptable at run time


class ChoiceLinesField(forms.CharField):
    """A list of short texts edited one per line (skip reasons, flag categories)."""

    widget = forms.Textarea(attrs={"rows": 5})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
        return clean_choices(lines) if lines else []


class ProjectForm(_ProjectModelForm):
    skip_reasons = ChoiceLinesField(
        required=False,
        help_text="One per line, at most 20: what annotators choose from when they skip an "
        "item. Keep “Other” to let them give a reason of their own.",
    )
    flag_categories = ChoiceLinesField(
        required=False,
        help_text="One per line, at most 20: what annotators may flag an item as. A flagged "
        "item leaves the dataset.",
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "slug",
            "description",
            "task_type",
            "overlap",
            "language",
            "lease_minutes",
            "max_leases",
            "gold_rate",
            "skip_reasons",
            "flag_categories",
            "anchoring_share",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        help_texts = {"slug": "Short name used in URLs and on the command line."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        for name in ("lease_minutes", "max_leases", "gold_rate", "anchoring_share"):
            self.fields[name].required = False
        if not self.instance.pk:
            self.initial.setdefault("skip_reasons", self.instance.skip_reasons)
            self.initial.setdefault("flag_categories", self.instance.flag_categories)
        overlap = self.fields["overlap"]
        overlap.validators.append(MinValueValidator(1))
        overlap.validators.append(MaxValueValidator(10))
        overlap.widget.attrs.update(min=1, max=10)

    def clean_skip_reasons(self) -> list[str]:
        # Left empty: keep what the project has (new projects: the defaults).
        reasons: list[str] = self.cleaned_data.get("skip_reasons") or self.instance.skip_reasons
        return reasons

    def clean_flag_categories(self) -> list[str]:
        found: list[str] = self.cleaned_data.get("flag_categories") or self.instance.flag_categories
        return found

    def clean_slug(self) -> str:
        # Left blank: a new project gets one made from its name, an existing one keeps its own.
        return self.cleaned_data.get("slug") or (self.instance.slug if self.instance.pk else "")


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


class GuidelineForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
        strip=False,
        help_text="Markdown. Publishing makes this the current version; annotators must "
        "acknowledge it before they work again.",
    )


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)
    is_staff = forms.BooleanField(required=False, label="Instance staff (sees every project)")
    can_create_projects = forms.BooleanField(required=False, label="May create projects")
