"""REST API for automated checks: a project's check configuration, re-check jobs, and
the status of any background job of a project."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.access import project_access
from projects.models import Job, Role
from reviews import checks


def job_data(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project_id,
        "kind": job.kind,
        "status": job.status,
        # Pending well after it was queued: no worker seems to be running.
        "waiting_for_worker": job.waiting_for_worker,
        "progress": job.progress,
        "total": job.total,
        "errors": job.errors,
        "result": job.result,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class ProjectChecksView(APIView):
    """``GET``: every check with ``enabled``, ``severity`` (``block`` or ``warn``) and
    ``options``. ``PATCH``: ``{name: {enabled?, severity?, options?}}`` (or a list of
    objects with ``name``); all or nothing."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        return Response([c.as_dict() for c in checks.project_checks(access.project)])

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data: Any = request.data
        if isinstance(data, dict) and isinstance(data.get("checks"), list | dict):
            data = data["checks"]
        updated = checks.update_checks(project=access.project, changes=data)
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
        job = checks.start_recheck(
            project=access.project,
            actor=request.user,
            item_ids=items,
            state=data.get("state"),
        )
        job.refresh_from_db()
        return Response(job_data(job), status=status.HTTP_202_ACCEPTED)


class JobView(APIView):
    """Any background job (re-check, generation, judgement) of a project the caller
    administers: ``status``, ``progress``, ``errors``, ``result``."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, job_id: int) -> Response:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise Http404("No such job.")
        project_access(request.user, job.project_id, Role.ADMIN)
        return Response(job_data(job))
