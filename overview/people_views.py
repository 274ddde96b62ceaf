"""The people page: each annotator's and reviewer's figures, sortable, each number a
link to the explorer filtered to the items behind it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from overview import people
from projects.access import project_access
from projects.models import Role
from reviews.models import ReviewStage


@login_required
@require_GET
def people_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    a_sort = request.GET.get("a", "username")
    r_sort = request.GET.get("r", "username")
    annotators = people.sort_rows(people.annotator_figures(project), a_sort, people.ANNOTATOR_SORTS)
    reviewers = people.sort_rows(people.reviewer_figures(project), r_sort, people.REVIEWER_SORTS)
    stages = list(
        ReviewStage.objects.filter(project=project)
        .order_by("position")
        .values_list("position", "name")
    )
    context = {
        "project": project,
        "access": access,
        "annotators": annotators,
        "reviewers": reviewers,
        "stages": stages,
        "a_sort": a_sort,
        "r_sort": r_sort,
    }
    return render(request, "overview/people.html", context)
