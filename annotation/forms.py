from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from annotation.models import Queue, import_jobs
from projects.models import Project


class QueueForm(forms.Form):
    name = forms.CharField(max_length=100)
    priority = forms.IntegerField(initial=0, help_text="Higher queues are served first.")
    paused = forms.BooleanField(required=False)
    tags = forms.CharField(
        required=False, help_text="Items with any of these tags (comma-separated)."
    )
    import_job = forms.ModelChoiceField(
        queryset=import_jobs().none(), required=False, label="Import batch"
    )
    min_priority = forms.IntegerField(required=False, label="Items of at least priority")
    assignees = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="Nobody selected: every annotator of the project works this queue.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    def __init__(self, *args: Any, project: Project, queue: Queue | None = None, **kw: Any):
        if queue is not None and "initial" not in kw:
            kw["initial"] = {
                "name": queue.name,
                "priority": queue.priority,
                "paused": queue.paused,
                "tags": ", ".join(queue.tags),
                "import_job": queue.import_job_id,
                "min_priority": queue.min_priority,
                "assignees": [u.pk for u in queue.assignees.all()],
            }
        super().__init__(*args, **kw)
        job_field = self.fields["import_job"]
        people_field = self.fields["assignees"]
        assert isinstance(job_field, forms.ModelChoiceField)
        assert isinstance(people_field, forms.ModelMultipleChoiceField)
        job_field.queryset = import_jobs().filter(project=project)
        people = get_user_model().objects.filter(memberships__project=project)
        people_field.queryset = people.order_by("username")
        if queue is not None and queue.is_default:
            for name in ("tags", "import_job", "min_priority"):
                del self.fields[name]

    def service_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        job = data.get("import_job")
        return {
            "name": data["name"],
            "priority": data.get("priority") or 0,
            "paused": bool(data.get("paused")),
            "tags": [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()],
            "import_job_id": job.pk if job else None,
            "min_priority": data.get("min_priority"),
            "assignees": list(data.get("assignees") or []),
        }
