"""REST API for automated checks: a project's check configuration and re-check jobs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checks import config, recheck
from projects.access import project_access
from projects.api import job_data
from projects.models import Role


class ProjectChecksView(APIView):
    """``GET``: every check with ``enabled``, ``severity`` (``block`` or ``warn``) and
    ``options``. ``PATCH``: ``{name: {enabled?, severity?, options?}}`` (or a list of
    objects with ``name``); all or nothing."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        return Response([c.as_dict() for c in config.project_checks(access.project)])

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data: Any = request.data
        if isinstance(data, dict) and isinstance(data.get("checks"), list | dict):
            data = data["checks"]
        updated = config.update_checks(project=access.project, changes=data)
        return Response([c.as_dict() for c in updated])


class RecheckView(APIView):
    """``POST {"items": [ids]}`` or ``{"state": "in_review"}``: re-run the checks on
    those items in the background; answers 202 with the job."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data: Any = request.data if isinstance(request.data, dict) else {}
        items = data.get("items")
        if items is not None and not isinstance(items, list):
            items = [items]
        job = recheck.start_recheck(
            project=access.project,
            actor=request.user,
            item_ids=items,
            state=data.get("state"),
        )
        job.refresh_from_db()
        return Response(job_data(job), status=status.HTTP_202_ACCEPTED)
