"""REST API for imports: start one, watch it, cancel it, remove it (``/api/v1/``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import JSONParser
from core.text import loads_json
from imports import formats, services
from imports.models import ImportJob
from imports.services import written_so_far
from projects.access import project_access
from projects.models import Role


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    progress = serializers.IntegerField(source="percent", read_only=True)
    written = serializers.SerializerMethodField()
    waiting_for_worker = serializers.BooleanField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "project",
            "status",
            "waiting_for_worker",
            "phase",
            "progress",
            "filename",
            "format",
            "detected_format",
            "options",
            "skip_invalid",
            "skip_duplicates",
            "total",
            "valid",
            "invalid",
            "duplicates",
            "existing",
            "created",
            "written",
            "message",
            "errors",
            "rerun_of",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_written(self, job: ImportJob) -> int | None:
        return written_so_far(job) if job.phase == "writing" else None


class ImportInputSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(allow_empty_file=True)
    format = serializers.ChoiceField(choices=services.FORMAT_CHOICES, default="auto")
    skip_invalid = serializers.BooleanField(default=False)
    skip_duplicates = serializers.BooleanField(default=False)
    options = serializers.JSONField(
        required=False, help_text="columns, delimiter, oasst_mode, source, licence"
    )
    oasst_mode = serializers.ChoiceField(
        choices=[formats.OASST_PATHS, formats.OASST_PROMPTS], required=False
    )
    columns = serializers.JSONField(required=False, help_text='{"prompt": "question", ...}')
    licence = serializers.CharField(required=False, allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # ``source`` is also an attribute of every serializer: added here, not declared.
        fields = super().get_fields()
        fields["source"] = serializers.CharField(required=False, allow_blank=True)
        return fields


def _options(data: dict[str, Any]) -> dict[str, Any]:
    options = data.get("options") or {}
    if isinstance(options, str):
        try:
            options = loads_json(options)
        except ValueError:
            raise ValidationError({"options": "options must be a JSON object."}) from None
    if not isinstance(options, dict):
        raise ValidationError({"options": "options must be a JSON object."})
    for name in ("oasst_mode", "columns", "source", "licence"):
        if data.get(name) not in (None, ""):
            options[name] = data[name]
    return options


def _job_for(user: Any, import_id: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.select_related("project"), pk=import_id)
    project_access(user, job.project_id, Role.ADMIN)
    return job


class ImportsView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=ImportJobSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        jobs = ImportJob.objects.filter(project=access.project).order_by("-created_at")[:50]
        return Response(ImportJobSerializer(jobs, many=True).data)

    @extend_schema(request=ImportInputSerializer, responses={202: ImportJobSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = services.create_import_job(
            project=access.project,
            user=request.user,
            file=values["file"],
            filename=values["file"].name,
            format=values["format"],
            skip_invalid=values["skip_invalid"],
            skip_duplicates=values["skip_duplicates"],
            options=_options(values),
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailView(APIView):
    @extend_schema(responses=ImportJobSerializer)
    def get(self, request: Request, import_id: int) -> Response:
        return Response(ImportJobSerializer(_job_for(request.user, import_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, import_id: int) -> Response:
        """Remove a finished, failed or cancelled import (400 while it is not finished)."""
        services.delete_import(job=_job_for(request.user, import_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportCancelView(APIView):
    @extend_schema(request=None, responses=ImportJobSerializer)
    def post(self, request: Request, import_id: int) -> Response:
        job = services.cancel_import(job=_job_for(request.user, import_id))
        return Response(ImportJobSerializer(job).data)


class RerunInputSerializer(serializers.Serializer[Any]):
    skip_invalid = serializers.BooleanField(default=True)
    skip_duplicates = serializers.BooleanField(required=False, allow_null=True, default=None)


class ImportRerunView(APIView):
    @extend_schema(request=RerunInputSerializer, responses={202: ImportJobSerializer})
    def post(self, request: Request, import_id: int) -> Response:
        job = _job_for(request.user, import_id)
        data = RerunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        again = services.rerun_import(job=job, user=request.user, **data.validated_data)
        again.refresh_from_db()
        return Response(ImportJobSerializer(again).data, status=status.HTTP_202_ACCEPTED)
