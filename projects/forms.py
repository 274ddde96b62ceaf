from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from projects.models import Project, Role

if TYPE_CHECKING:
    _ProjectModelForm = forms.ModelForm[Project]
else:
    _ProjectModelForm = forms.ModelForm  # not subscriptable at run time


class ProjectForm(_ProjectModelForm):
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
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        help_texts = {"slug": "Short name used in URLs and on the command line."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        for name in ("lease_minutes", "max_leases", "gold_rate"):
            self.fields[name].required = False
        overlap = self.fields["overlap"]
        overlap.validators.append(MinValueValidator(1))
        overlap.validators.append(MaxValueValidator(10))
        overlap.widget.attrs.update(min=1, max=10)

    def clean_slug(self) -> str:
        return self.cleaned_data.get("slug") or ""


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
