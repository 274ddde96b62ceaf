"""REST API for users, tokens, members, guidelines and background jobs (``/api/v1/``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import request_user
from projects import services
from projects.access import project_access
from projects.models import Guideline, Job, Membership, Role
from projects.serializers import (
    GuidelineInputSerializer,
    GuidelineSerializer,
    MemberInputSerializer,
    MemberSerializer,
    UserInputSerializer,
)

User = get_user_model()


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
            author=request_user(request),
        )
        return Response(GuidelineSerializer(guideline).data, status=status.HTTP_201_CREATED)


class AcknowledgeView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id)
        ack = services.acknowledge_guideline(project=access.project, user=request_user(request))
        return Response(
            {"version": ack.guideline.version, "acknowledged_at": ack.acknowledged_at},
            status=status.HTTP_200_OK,
        )


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
