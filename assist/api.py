"""REST API of the model in the loop (``/api/v1/``): endpoints, prompt versions,
samples, generation runs and ratings. Project admins only; a foreign id is a 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Item
from assist import endpoints, generation, prompts, samples
from assist.models import Endpoint, Generation, PromptVersion, Sample
from assist.serializers import (
    EndpointInputSerializer,
    GenerationInputSerializer,
    PromptInputSerializer,
    RatingInputSerializer,
    SampleInputSerializer,
    endpoint_data,
    generation_data,
    prompt_data,
    sample_data,
)
from core.api import request_user
from projects.access import project_access
from projects.api import job_data
from projects.models import Job, Project, Role

CANCEL_KINDS = ("generation", "judgement")
NOT_A_RUN = "Only model runs (generations, judgements) can be cancelled here."


def _admin_project(request: Request, project_id: int) -> Project:
    return project_access(request.user, project_id, Role.ADMIN).project


def _valid(serializer: Any, request: Request) -> dict[str, Any]:
    data = serializer(data=request.data)
    data.is_valid(raise_exception=True)
    # Only the keys the client sent: a PATCH changes nothing else.
    sent = request.data if isinstance(request.data, dict) else {}
    return {k: v for k, v in data.validated_data.items() if k in sent}


def _row(model: type[Any], project: Project, pk: int) -> Any:
    row = model.objects.filter(project=project, pk=pk).first()
    if row is None:
        raise Http404("Not found.")
    return row


class EndpointsView(APIView):
    """Model endpoints. The API key is write-only: responses say ``has_api_key``."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="v1_projects_endpoints_list")
    def get(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        return Response([endpoint_data(e) for e in Endpoint.objects.filter(project=project)])

    @extend_schema(request=EndpointInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        data = _valid(EndpointInputSerializer, request)
        endpoint = endpoints.save_endpoint(project=project, data=data)
        return Response(endpoint_data(endpoint), status=status.HTTP_201_CREATED)


class EndpointView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        project = _admin_project(request, project_id)
        return Response(endpoint_data(_row(Endpoint, project, endpoint_id)))

    @extend_schema(request=EndpointInputSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        project = _admin_project(request, project_id)
        row = _row(Endpoint, project, endpoint_id)
        data = _valid(EndpointInputSerializer, request)
        return Response(
            endpoint_data(endpoints.save_endpoint(project=project, data=data, endpoint=row))
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        project = _admin_project(request, project_id)
        endpoints.delete_endpoint(endpoint=_row(Endpoint, project, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointTestView(APIView):
    """One short call (at most 15 s): ``{ok, answer, latency_ms, message}``."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int, endpoint_id: int) -> Response:
        project = _admin_project(request, project_id)
        result = endpoints.try_endpoint(_row(Endpoint, project, endpoint_id))
        return Response(result.as_dict())


class PromptsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="v1_projects_prompts_list")
    def get(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        versions = PromptVersion.objects.filter(project=project)
        kind = request.query_params.get("kind")
        if kind:
            versions = versions.filter(kind=kind)
        return Response([prompt_data(v) for v in versions])

    @extend_schema(request=PromptInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        data = _valid(PromptInputSerializer, request)
        version = prompts.create_prompt(
            project=project,
            actor=request_user(request),
            name=data.get("name", ""),
            template=data.get("template", ""),
            kind=data.get("kind") or "draft",
            system=data.get("system", ""),
            params=data.get("params"),
            parent=data.get("parent"),
            labels=data.get("labels"),
        )
        return Response(prompt_data(version), status=status.HTTP_201_CREATED)


class PromptView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, prompt_id: int) -> Response:
        project = _admin_project(request, project_id)
        return Response(prompt_data(_row(PromptVersion, project, prompt_id)))

    @extend_schema(request=PromptInputSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, project_id: int, prompt_id: int) -> Response:
        """Name and labels always; system, template, kind and params only until a run
        used the version (409 then)."""
        project = _admin_project(request, project_id)
        version = _row(PromptVersion, project, prompt_id)
        data = _valid(PromptInputSerializer, request)
        data.pop("parent", None)
        try:
            version = prompts.update_prompt(version=version, changes=data)
        except prompts.PromptLocked as locked:
            return Response({"detail": locked.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(prompt_data(version))


class PromptPreviewView(APIView):
    """``?item=<id>``: the exact messages the version would send for that item."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, prompt_id: int) -> Response:
        project = _admin_project(request, project_id)
        version = _row(PromptVersion, project, prompt_id)
        raw = request.query_params.get("item", "")
        item = (
            Item.objects.filter(project=project, pk=int(raw))
            .select_related("current_revision")
            .first()
            if raw.isdigit()
            else None
        )
        if item is None:
            return Response(
                {"detail": "Give ?item= with the id of one of this project's items."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"item": item.pk, "messages": prompts.preview(version, item)})


class SamplesView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="v1_projects_samples_list")
    def get(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        return Response([sample_data(s) for s in Sample.objects.filter(project=project)])

    @extend_schema(request=SampleInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        data = _valid(SampleInputSerializer, request)
        sample = samples.create_sample(project=project, actor=request_user(request), **data)
        return Response(sample_data(sample), status=status.HTTP_201_CREATED)


class SampleView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, sample_id: int) -> Response:
        project = _admin_project(request, project_id)
        return Response(sample_data(_row(Sample, project, sample_id)))


class GenerationsView(APIView):
    """Generation runs: ``POST {endpoint, prompt, sample or filter}`` answers 202 with
    the job (watch it at ``/api/v1/jobs/{id}/``)."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="v1_projects_generations_list")
    def get(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        runs = Job.objects.filter(project=project, kind=generation.KIND).order_by("-created_at")
        return Response([{**job_data(j), "params": _params(j)} for j in runs[:100]])

    @extend_schema(request=GenerationInputSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        data = _valid(GenerationInputSerializer, request)
        job = generation.start_generation(
            project=project,
            actor=request_user(request),
            endpoint=data.get("endpoint"),  # type: ignore[arg-type]
            prompt=data.get("prompt"),  # type: ignore[arg-type]
            sample=data.get("sample"),
            filter=data.get("filter"),
        )
        job.refresh_from_db()
        return Response({**job_data(job), "params": _params(job)}, status=status.HTTP_202_ACCEPTED)


def _params(job: Job) -> dict[str, Any]:
    """The run's record without its (possibly long) item list."""
    return {k: v for k, v in (job.params or {}).items() if k != "items"}


class GenerationView(APIView):
    """One run: the job, its recorded parameters and its drafts (first 500)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, job_id: int) -> Response:
        project = _admin_project(request, project_id)
        job = Job.objects.filter(project=project, pk=job_id, kind=generation.KIND).first()
        if job is None:
            raise Http404("Not found.")
        rows = Generation.objects.filter(job=job).order_by("item_id")[:500]
        return Response(
            {
                **job_data(job),
                "params": _params(job),
                "generations": [generation_data(g) for g in rows],
            }
        )


class RatingsView(APIView):
    """``POST {generation, verdict: "good" | "bad", note}``: mark one trial draft."""

    @extend_schema(request=RatingInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = _admin_project(request, project_id)
        data = _valid(RatingInputSerializer, request)
        row = Generation.objects.filter(pk=data["generation"], job__project=project).first()
        if row is None:
            raise Http404("Not found.")
        rating = samples.rate_generation(
            generation=row,
            user=request_user(request),
            verdict=data["verdict"],
            note=data.get("note", ""),
        )
        return Response(
            {"generation": row.pk, "verdict": rating.verdict, "note": rating.note},
            status=status.HTTP_201_CREATED,
        )


class JobCancelView(APIView):
    """Cancel a pending or running model run; it stops at its next item."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, job_id: int) -> Response:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise Http404("No such job.")
        project_access(request.user, job.project_id, Role.ADMIN)
        if job.kind not in CANCEL_KINDS:
            return Response({"detail": NOT_A_RUN}, status=status.HTTP_400_BAD_REQUEST)
        return Response(job_data(generation.cancel_run(job=job)))
