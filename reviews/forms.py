"""Forms of the review policy page: one formset per table (stages, rubric criteria,
reason codes), each row a form, and the small gold forms. The forms check what one
field can say (a name is there, a share is 0 to 100); the policy services check the
rest (names differ, reviewers are the project's) and save all rows or none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from annotation.models import Item
from projects.models import Project
from reviews.models import ReasonCode, ReviewStage, RubricCriterion
from reviews.policy import CRITERION_LABEL, MAX_STAGES, MIN_APPROVALS, REASON_LABEL, STAGE_NAME

if TYPE_CHECKING:
    _FormSet = forms.BaseFormSet[Any]
else:
    _FormSet = forms.BaseFormSet  # not subscriptable at run time

SAMPLE_PERCENT = "The sample share is a number from 0 to 100 (100 = every item)."
JUDGE_BELOW_FIELD = "A judge score from 0 to 4, or empty for no rule."
JUDGE_PERCENTS = (
    "Write judge score: sample % pairs, scores 0 to 4 and shares 0 to 100, "
    "separated by commas, e.g. 4: 10, 3: 50."
)
GOLD_PERCENT = "The gold share is a number from 0 to 100."
NO_SUCH_ITEM = "There is no item with that number in this project."

Choices = list[tuple[str, str]]


def percent(rate: float) -> float | int:
    """A rate (0 to 1) as the percentage a person types: 20, not 20.0."""
    percent = round(rate * 100, 2)
    return int(percent) if percent.is_integer() else percent


def _range_messages(message: str) -> dict[str, str]:
    return {"invalid": message, "min_value": message, "max_value": message, "required": message}


def parse_judge_percents(text: str) -> dict[str, float]:
    """``"4: 10, 3: 50 %"`` as ``{"3": 0.5, "4": 0.1}``: the share of answers reviewed per
    judge score. Raises ``ValidationError`` with ``JUDGE_PERCENTS`` otherwise."""
    rates: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        score, sep, share = part.replace("=", ":").partition(":")
        try:
            value = float(share.replace("%", "").strip())
        except ValueError:
            raise forms.ValidationError(JUDGE_PERCENTS) from None
        if not sep or score.strip() not in {"0", "1", "2", "3", "4"} or not 0 <= value <= 100:
            raise forms.ValidationError(JUDGE_PERCENTS)
        rates[score.strip()] = round(value / 100, 4)
    return dict(sorted(rates.items()))


def format_judge_percents(rates: dict[str, float]) -> str:
    """The inverse of ``parse_judge_percents``: ``"3: 50, 4: 10"``."""
    return ", ".join(f"{score}: {percent(rate)}" for score, rate in sorted(rates.items()))


def _unless_bound(data: Any, initial: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The saved rows to show, when nothing was posted. Posted, the rows are what was
    sent: saved values lined up with posted rows by position would make a blank new row
    look filled in when the rows changed meanwhile."""
    return initial if data is None else None


class RowFormSet(_FormSet):
    """A table of rows: existing rows first, then one blank row to add. A row ticked
    "remove" and a blank new row are left out of ``rows()``."""

    kind = "Row"

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is None or index >= self.initial_form_count():
            kwargs.update(row_label=f"New {self.kind.lower()}", is_new=True)
        else:
            kwargs.update(row_label=f"{self.kind} {index + 1}", is_new=False)
        return kwargs

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = f"Remove {form.row_label.lower()}"

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's refusal of the rows above them, where the formset's own
        errors are."""
        found = exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]
        self.non_form_errors().extend(m for messages in found for m in messages)

    def rows(self) -> list[dict[str, Any]]:
        """The cleaned rows to save, in order (call after ``is_valid()``)."""
        deleted = set(map(id, self.deleted_forms))
        return [f.cleaned_data for f in self.forms if f.cleaned_data and id(f) not in deleted]


class RowForm(forms.Form):
    """One row of a table: knows its label ("Stage 2", "New stage", for screen readers)
    and whether it is the blank row for adding one."""

    def __init__(self, *args: Any, row_label: str, is_new: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_label = row_label
        self.is_new = is_new


# --- Stages ---------------------------------------------------------------------------


class StageForm(RowForm):
    name = forms.CharField(max_length=100, error_messages={"required": STAGE_NAME})
    percent = forms.FloatField(
        min_value=0,
        max_value=100,
        initial=100,
        required=False,
        error_messages=_range_messages(SAMPLE_PERCENT),
    )
    min_approvals = forms.IntegerField(
        min_value=1, max_value=5, initial=1, error_messages=_range_messages(MIN_APPROVALS)
    )
    reviewers = forms.MultipleChoiceField(required=False)
    allow_prior = forms.BooleanField(required=False)
    judge_below = forms.IntegerField(
        min_value=0, max_value=4, required=False, error_messages=_range_messages(JUDGE_BELOW_FIELD)
    )
    judge_percents = forms.CharField(max_length=200, required=False)

    def clean_judge_percents(self) -> dict[str, float]:
        return parse_judge_percents(self.cleaned_data.get("judge_percents") or "")

    def __init__(self, *args: Any, reviewer_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reviewers = self.fields["reviewers"]
        assert isinstance(reviewers, forms.MultipleChoiceField)
        reviewers.choices = reviewer_choices
        aria = {
            "name": "name",
            "percent": "sample percent",
            "min_approvals": "approvals",
            "reviewers": "reviewers",
            "judge_below": "always review below judge score",
            "judge_percents": "sample percent by judge score",
        }
        for field, what in aria.items():
            self.fields[field].widget.attrs["aria-label"] = f"{self.row_label} {what}"
        if self.is_new:
            self.fields["name"].widget.attrs["placeholder"] = "Add a stage, e.g. Expert review"
        self.fields["judge_percents"].widget.attrs["placeholder"] = "e.g. 4: 10"


class StageFormSet(RowFormSet):
    kind = "Stage"

    def __init__(self, *args: Any, reviewer_choices: Choices, **kwargs: Any) -> None:
        kwargs["form_kwargs"] = {"reviewer_choices": reviewer_choices}
        super().__init__(*args, **kwargs)
        self.usernames = dict(reviewer_choices)

    def stages(self) -> list[dict[str, Any]]:
        """The rows as ``policy.set_review_stages`` takes them."""
        return [
            {
                "name": row["name"],
                "sample_rate": (100 if row["percent"] is None else row["percent"]) / 100,
                "min_approvals": row["min_approvals"],
                "reviewers": [self.usernames[pk] for pk in row["reviewers"]],
                "allow_prior_reviewers": row["allow_prior"],
                "judge_always_below": row.get("judge_below"),
                "judge_sample_rates": row.get("judge_percents") or {},
            }
            for row in self.rows()
        ]


# ``formset_factory`` adds the row settings; the cast keeps the subclass's own methods typed.
StageFormSetClass = cast(
    "type[StageFormSet]",
    forms.formset_factory(
        StageForm, formset=StageFormSet, extra=1, can_delete=True, max_num=MAX_STAGES
    ),
)


def stage_formset(
    stages: list[ReviewStage], reviewer_choices: Choices, data: Any = None
) -> StageFormSet:
    """The stages table; ``stages`` with their reviewers prefetched."""
    initial = [
        {
            "name": s.name,
            "percent": percent(s.sample_rate),
            "min_approvals": s.min_approvals,
            "reviewers": [str(u.pk) for u in s.reviewers.all()],
            "allow_prior": s.allow_prior_reviewers,
            "judge_below": s.judge_always_below,
            "judge_percents": format_judge_percents(s.judge_sample_rates or {}),
        }
        for s in stages
    ]
    return StageFormSetClass(
        data,
        initial=_unless_bound(data, initial),
        prefix="stage",
        reviewer_choices=reviewer_choices,
    )


# --- Rubric and reason codes ----------------------------------------------------------


class CriterionForm(RowForm):
    key = forms.CharField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=100, error_messages={"required": CRITERION_LABEL})
    description = forms.CharField(max_length=300, required=False)
    required = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].widget.attrs["aria-label"] = self.row_label
        self.fields["description"].widget.attrs["aria-label"] = f"{self.row_label} description"
        self.fields["required"].widget.attrs["aria-label"] = f"{self.row_label} required"
        if self.is_new:
            self.fields["label"].widget.attrs["placeholder"] = "Add a criterion"


class CriterionFormSet(RowFormSet):
    kind = "Criterion"


class ReasonForm(RowForm):
    code = forms.CharField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=100, error_messages={"required": REASON_LABEL})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].widget.attrs["aria-label"] = self.row_label
        if self.is_new:
            self.fields["label"].widget.attrs["placeholder"] = "Add a reason"


class ReasonFormSet(RowFormSet):
    kind = "Reason"


CriterionFormSetClass = cast(
    "type[CriterionFormSet]",
    forms.formset_factory(CriterionForm, formset=CriterionFormSet, extra=1, can_delete=True),
)
ReasonFormSetClass = cast(
    "type[ReasonFormSet]",
    forms.formset_factory(ReasonForm, formset=ReasonFormSet, extra=1, can_delete=True),
)


def rubric_formset(criteria: list[RubricCriterion], data: Any = None) -> CriterionFormSet:
    initial = [
        {"key": c.key, "label": c.label, "description": c.description, "required": c.required}
        for c in criteria
    ]
    return CriterionFormSetClass(data, initial=_unless_bound(data, initial), prefix="criterion")


def reason_formset(reasons: list[ReasonCode], data: Any = None) -> ReasonFormSet:
    initial = [{"code": r.code, "label": r.label} for r in reasons]
    return ReasonFormSetClass(data, initial=_unless_bound(data, initial), prefix="reason")


# --- Gold -----------------------------------------------------------------------------


class ProjectItemField(forms.CharField):
    """An item of the project by its number (``42`` or ``#42``)."""

    def __init__(self, *, project: Project, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project = project

    def clean(self, value: Any) -> Item:
        raw = str(super().clean(value)).strip().lstrip("#")
        item = Item.objects.filter(project=self.project, pk=raw).first() if raw.isdigit() else None
        if item is None:
            raise forms.ValidationError(NO_SUCH_ITEM)
        return item


class GoldForm(forms.Form):
    """Mark an item as gold, with its reference answer."""

    reference = forms.CharField(
        label="Reference answer", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"] = ProjectItemField(
            project=project,
            label="Item number",
            error_messages={"required": NO_SUCH_ITEM},
            widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 42"}),
        )
        self.order_fields(["item", "reference"])


class GoldRemoveForm(forms.Form):
    """Make a gold item an ordinary item again."""

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"] = ProjectItemField(project=project, widget=forms.HiddenInput)


class GoldRateForm(forms.Form):
    gold_percent = forms.FloatField(
        label="Share of served items that are gold (%)",
        min_value=0,
        max_value=100,
        error_messages=_range_messages(GOLD_PERCENT),
    )
