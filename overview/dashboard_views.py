"""The dashboard page (progress, throughput, queue health, rejections, checks) and the
balance figures (lengths, turns, tags, duplicates, languages): SVG charts with their
numbers beside them, a CSV per table, refreshed while the page is open."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.htmx import HtmxHttpRequest, render_page
from overview.charts import bar_chart, csv_text
from overview.dashboards import dashboard_payload, dashboard_tables
from overview.models import TagTarget
from projects.access import project_access
from projects.models import Role


@login_required
@require_GET
def dashboard(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.REVIEWER)
    tables = dashboard_tables(access.project)
    sections = [{"table": t, "svg": bar_chart(t.title, t.chart, unit=t.unit)} for t in tables]
    context = {"project": access.project, "access": access, "sections": sections}
    return render_page(request, "overview/dashboard.html", context, partial="figures")


ERR_TARGET_TAG = "Name the tag the target is for."
ERR_TARGET_NUMBERS = "A target is a whole number of items and/or a share from 0 to 100 %."


def _target_numbers(post: Any) -> tuple[int | None, float | None]:
    raw_min, raw_share = post.get("min_items", "").strip(), post.get("max_percent", "").strip()
    try:
        min_items = int(raw_min) if raw_min else None
        share = float(raw_share) / 100 if raw_share else None
    except ValueError:
        raise ValidationError(ERR_TARGET_NUMBERS) from None
    if (min_items is not None and min_items < 0) or (share is not None and not 0 <= share <= 1):
        raise ValidationError(ERR_TARGET_NUMBERS)
    return min_items, share


@login_required
@require_POST
def set_target(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Set (or, with both numbers blank, remove) the target of one tag."""
    access = project_access(request.user, slug, Role.ADMIN)
    tag = request.POST.get("tag", "").strip()[:100]
    try:
        if not tag:
            raise ValidationError(ERR_TARGET_TAG)
        min_items, share = _target_numbers(request.POST)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("overview:dashboard", slug=slug)
    if min_items is None and share is None:
        TagTarget.objects.filter(project=access.project, tag=tag).delete()
        messages.success(request, f"Removed the target for “{tag}”.")
    else:
        TagTarget.objects.update_or_create(
            project=access.project, tag=tag, defaults={"min_items": min_items, "max_share": share}
        )
        messages.success(request, f"Saved the target for “{tag}”.")
    return redirect("overview:dashboard", slug=slug)


@login_required
@require_GET
def dashboard_csv(request: HtmxHttpRequest, slug: str, key: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.REVIEWER)
    table = next((t for t in dashboard_tables(access.project) if t.key == key), None)
    if table is None:
        raise Http404("No such table.")
    response = HttpResponse(
        csv_text(table.header, table.rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}-{key}.csv"'
    return response


class DashboardView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        """Every dashboard and balance table, as the dashboard page shows them."""
        access = project_access(request.user, project_id, Role.REVIEWER)
        return Response(dashboard_payload(access.project))
