"""The project API that reads every app: a project with its review policy and check
configuration (``GET``/``PATCH`` change them together), and its statistics."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checks.services import project_checks, update_checks
from overview.selectors import project_stats
from projects import services
from projects.access import project_access, visible_projects
from projects.models import Membership, Project, Role
from projects.serializers import ProjectInputSerializer, ProjectSerializer
from reviews.selectors import review_stages
from reviews.services import set_review_stages


def _roles(user: Any) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


class ProjectListView(APIView):
    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request: Request) -> Response:
        projects = visible_projects(request.user).order_by("name")
        context = {"roles": _roles(request.user)}
        return Response(ProjectSerializer(projects, many=True, context=context).data)

    @extend_schema(request=ProjectInputSerializer, responses=ProjectSerializer)
    def post(self, request: Request) -> Response:
        data = ProjectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if not fields.get("name"):
            return Response(
                {
                    "detail": "name: A project needs a name.",
                    "errors": {"name": ["A project needs a name."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        project = services.create_project(creator=request.user, **fields)  # type: ignore[arg-type]
        context = {"roles": {project.pk: Role.ADMIN}}
        return Response(ProjectSerializer(project, context=context).data, status=201)


def _project_detail(project: Project, role: str | None) -> dict[str, Any]:
    """A project with its review policy and its check configuration."""
    data = dict(ProjectSerializer(project, context={"roles": {project.pk: role}}).data)
    data["review_stages"] = review_stages(project)
    data["checks"] = {
        c.name: {"enabled": c.enabled, "severity": c.severity, "options": c.options}
        for c in project_checks(project)
    }
    return data


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        return Response(_project_detail(access.project, access.role))

    @extend_schema(request=ProjectInputSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        """Change fields, ``review_stages`` and ``checks`` together: all or nothing."""
        access = project_access(request.user, project_id, Role.ADMIN)
        data = ProjectInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            project = services.update_project(project=access.project, **data.validated_data)
            if "review_stages" in request.data:
                set_review_stages(project=project, stages=request.data["review_stages"])
            if "checks" in request.data:
                update_checks(project=project, changes=request.data["checks"])
        return Response(_project_detail(project, access.role))


class StatsView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        return Response(project_stats(access.project))
