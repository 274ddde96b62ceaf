"""REST API for users, projects, members and guidelines (``/api/v1/``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import services
from projects.access import project_access, visible_projects
from projects.models import Guideline, Membership, Project, Role
from projects.selectors import project_stats
from projects.serializers import (
    GuidelineInputSerializer,
    GuidelineSerializer,
    MemberInputSerializer,
    MemberSerializer,
    ProjectInputSerializer,
    ProjectSerializer,
    UserInputSerializer,
)
from reviews.checks import project_checks, update_checks
from reviews.selectors import review_stages
from reviews.services import set_review_stages

User = get_user_model()


class TokenView(ObtainAuthToken):
    """Exchange ``{"username", "password"}`` for ``{"token"}``."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


class UsersView(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=UserInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = UserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.create_user(**data.validated_data)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "is_staff": user.is_staff,
            },
            status=status.HTTP_201_CREATED,
        )


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


class MembersView(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        members = Membership.objects.filter(project=access.project).select_related("user")
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(request=MemberInputSerializer, responses=MemberSerializer)
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.set_member(project=access.project, **data.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class GuidelinesView(APIView):
    @extend_schema(responses=GuidelineSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        versions = Guideline.objects.filter(project=access.project).select_related("created_by")
        return Response(GuidelineSerializer(versions, many=True).data)

    @extend_schema(request=GuidelineInputSerializer, responses=GuidelineSerializer)
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data = GuidelineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        guideline = services.publish_guideline(
            project=access.project,
            body=data.validated_data["body"],
            author=request.user,  # type: ignore[arg-type]
        )
        return Response(GuidelineSerializer(guideline).data, status=status.HTTP_201_CREATED)


class AcknowledgeView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        ack = services.acknowledge_guideline(project=access.project, user=request.user)  # type: ignore[arg-type]
        return Response(
            {"version": ack.guideline.version, "acknowledged_at": ack.acknowledged_at},
            status=status.HTTP_200_OK,
        )
