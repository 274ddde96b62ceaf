"""Judge calibration against people, for a project's admins: the page and the API
(``GET /api/v1/projects/{id}/calibration/``), both from ``overview.calibration``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.htmx import HtmxHttpRequest, render_page
from overview.calibration import SIGNALS, calibration, strength
from projects.access import project_access
from projects.models import Role

SIGNAL_LABELS = {
    "decision": "Reviewer decisions (approve / reject)",
    "rubric": "Rubric scores (mean, 1-5 as 0-4)",
    "gold": "Gold similarity to the reference (0-4)",
}


class CalibrationView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        """Per judge prompt version: agreement with reviewer decisions, rubric scores
        and gold, with ``enough`` false and the figures null under ``min_pairs``."""
        access = project_access(request.user, project_id, Role.ADMIN)
        return Response(calibration(access.project))


def _for_page(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each version's signals in page order, with their label, κ in words and the
    matrix rows paired with their judge score."""
    versions = []
    for version in report["versions"]:
        signals = []
        for name in SIGNALS:
            f = version["signals"][name]
            signals.append(
                {
                    **f,
                    "name": name,
                    "label": SIGNAL_LABELS[name],
                    "strength": strength(f["kappa"]),
                    "agreement_percent": None
                    if f["agreement"] is None
                    else round(f["agreement"] * 100, 1),
                    "table": list(zip(f["rows"], f["matrix"], strict=True)),
                }
            )
        versions.append({**version, "signal_list": signals})
    return versions


@login_required
@require_GET
def calibration_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    report = calibration(access.project)
    context = {
        "project": access.project,
        "access": access,
        "report": report,
        "versions": _for_page(report),
    }
    return render_page(request, "overview/calibration.html", context)
