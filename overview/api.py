"""The project API that reads every app: a project with its review policy and check
configuration (``GET``/``PATCH`` change them together), and its statistics."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checks.config import project_checks, update_checks
from core.api import RefuseUnknownFields, request_user
from overview.dashboards import dashboard_payload
from overview.selectors import project_stats
from projects import services
from projects.access import (
    CREATE_NOT_ALLOWED,
    may_create_projects,
    project_access,
    visible_projects,
)
from projects.models import Membership, Project, Role, clean_choices, validate_choices
from projects.serializers import ProjectInputSerializer, ProjectSerializer
from reviews.policy import set_review_stages
from reviews.selectors import review_stages


class ProjectWriteSerializer(RefuseUnknownFields, ProjectInputSerializer):
    """A project's fields, plus its review policy and check configuration; create and
    change accept the same fields, and apply them all or nothing."""

    review_stages = serializers.ListField(
        child=serializers.JSONField(), required=False, help_text="Ordered review stages."
    )
    checks = serializers.JSONField(
        required=False, help_text="Per check name: enabled, severity, options."
    )
    skip_reasons = serializers.JSONField(
        required=False, validators=[validate_choices], help_text="1 to 20 skip reasons."
    )
    flag_categories = serializers.JSONField(
        required=False, validators=[validate_choices], help_text="1 to 20 flag categories."
    )
    anchoring_share = serializers.FloatField(min_value=0, max_value=1, required=False)

    def validate_skip_reasons(self, value: Any) -> list[str]:
        return clean_choices(value)

    def validate_flag_categories(self, value: Any) -> list[str]:
        return clean_choices(value)


def _apply_policy(project: Project, data: dict[str, Any]) -> None:
    if "review_stages" in data:
        set_review_stages(project=project, stages=data["review_stages"])
    if "checks" in data:
        update_checks(project=project, changes=data["checks"])


def _roles(user: Any) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


class ProjectListView(APIView):
    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request: Request) -> Response:
        projects = visible_projects(request.user).order_by("name")
        context = {"roles": _roles(request.user)}
        return Response(ProjectSerializer(projects, many=True, context=context).data)

    @extend_schema(request=ProjectWriteSerializer, responses=ProjectSerializer)
    def post(self, request: Request) -> Response:
        """Create a project (the caller becomes its admin), with ``review_stages`` and
        ``checks`` if given: all or nothing."""
        if not may_create_projects(request.user):
            raise exceptions.PermissionDenied(CREATE_NOT_ALLOWED)
        data = ProjectWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        policy = {k: fields.pop(k) for k in ("review_stages", "checks") if k in fields}
        if not fields.get("name"):
            return Response(
                {
                    "detail": "name: A project needs a name.",
                    "errors": {"name": ["A project needs a name."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        with transaction.atomic():
            project = services.create_project(creator=request_user(request), **fields)
            _apply_policy(project, policy)
        return Response(_project_detail(project, Role.ADMIN), status=status.HTTP_201_CREATED)


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

    @extend_schema(request=ProjectWriteSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        """Change fields, ``review_stages`` and ``checks`` together: all or nothing."""
        access = project_access(request.user, project_id, Role.ADMIN)
        data = ProjectWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        policy = {k: fields.pop(k) for k in ("review_stages", "checks") if k in fields}
        with transaction.atomic():
            project = services.update_project(project=access.project, **fields)
            _apply_policy(project, policy)
        return Response(_project_detail(project, access.role))


class StatsView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        stats = project_stats(access.project)
        if access.is_reviewer:
            # The dashboard's tables, so scripts and the page never disagree.
            stats["dashboard"] = dashboard_payload(access.project)
        return Response(stats)
