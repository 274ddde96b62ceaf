"""REST API for exports: start one, follow it, download its file."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exports import services
from exports.models import ExportJob
from projects.access import project_access
from projects.models import Role


class ExportSerializer(serializers.ModelSerializer[ExportJob]):
    created_by = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    manifest_url = serializers.SerializerMethodField()
    waiting_for_worker = serializers.BooleanField(read_only=True)

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "project",
            "status",
            "waiting_for_worker",
            "format",
            "options",
            "progress",
            "total",
            "rows",
            "files",
            "sha256",
            "manifest",
            "message",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
            "manifest_url",
        ]
        read_only_fields = fields

    def get_created_by(self, job: ExportJob) -> str | None:
        return job.created_by.username if job.created_by else None

    def get_download_url(self, job: ExportJob) -> str | None:
        return reverse("api-export-download", args=[job.pk]) if job.file else None

    def get_manifest_url(self, job: ExportJob) -> str | None:
        if not job.file:
            return None
        return reverse("api-export-download", args=[job.pk]) + "?file=manifest.json"


def _jobs() -> QuerySet[ExportJob]:
    return ExportJob.objects.defer("snapshot").select_related("project", "created_by")


def export_for(user: Any, export_id: int) -> ExportJob:
    """The export, if ``user`` is an admin of its project (404 for anyone outside it)."""
    job = _jobs().filter(pk=export_id).first()
    if job is None:
        raise Http404("No such export.")
    project_access(user, job.project_id, Role.ADMIN)
    return job


def _options(data: Any) -> dict[str, Any]:
    if hasattr(data, "dict"):  # a form post: one value per key
        return dict(data.dict())
    if not isinstance(data, dict):
        raise serializers.ValidationError({"detail": "Send the export options as a JSON object."})
    return dict(data)


class ProjectExportsView(APIView):
    @extend_schema(responses=ExportSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        jobs = _jobs().filter(project=access.project)[:50]
        data = ExportSerializer(jobs, many=True).data
        return Response(data)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={202: ExportSerializer},
        description="Options: format, split ({validation, seed} or null), dedup, "
        "include_metadata, system_prompt, filters ({tags, stage, approved_from, approved_to, "
        "annotator}) and, for prompt-completion, template, completion_prefix, separator, stop.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        job = services.create_export(
            project=access.project, user=request.user, options=_options(request.data)
        )
        job = _jobs().get(pk=job.pk)
        return Response(ExportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    @extend_schema(responses=ExportSerializer)
    def get(self, request: Request, export_id: int) -> Response:
        return Response(ExportSerializer(export_for(request.user, export_id)).data)


def download_response(job: ExportJob, *, manifest: bool = False) -> FileResponse:
    handle = services.open_download(job=job, manifest=manifest)
    name = "manifest.json" if manifest else services.download_name(job)
    content_type = (
        "application/json"
        if manifest
        else ("application/zip" if name.endswith(".zip") else "application/jsonl")
    )
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    if not manifest:
        response["X-Checksum-Sha256"] = job.sha256
    return response


class ExportDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, export_id: int) -> Any:
        job = export_for(request.user, export_id)
        wanted = request.query_params.get("file", "")
        if wanted not in ("", "manifest.json"):
            return Response(
                {"detail": "file may only be manifest.json."}, status=status.HTTP_400_BAD_REQUEST
            )
        return download_response(job, manifest=wanted == "manifest.json")
