"""REST API of the judge: judgement runs (list, start, cancel), a run's report, and the
paired comparison of two runs. Project admins only; another project's ids are 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assist import judging, reports
from core.api import RefuseUnknownFields
from projects.access import project_access
from projects.api import job_data
from projects.models import Job, Role

RUNS_LISTED = 100
COMPARE_NEEDS = "Give two judgement runs to compare: ?a=<run id>&b=<run id>."


class JudgementInput(RefuseUnknownFields, serializers.Serializer[Any]):
    endpoint = serializers.IntegerField(help_text="The judge's endpoint.")
    prompt = serializers.IntegerField(help_text="A prompt version of kind judge.")
    sample = serializers.IntegerField(required=False, allow_null=True)
    filter = serializers.JSONField(required=False, allow_null=True)
    target = serializers.ChoiceField(
        choices=judging.TARGETS,
        required=False,
        default="answers",
        help_text="answers (current revisions), drafts (model drafts) or generation.",
    )
    generation = serializers.IntegerField(
        required=False, allow_null=True, help_text="The generation run whose outputs to judge."
    )
    allow_same_family = serializers.BooleanField(required=False, default=False)


def run_data(job: Job) -> dict[str, Any]:
    return {**job_data(job), "run": reports.run_info(job)}


class JudgementsView(APIView):
    """``GET``: the project's judgement runs, newest first. ``POST {endpoint, prompt,
    sample or filter, target, generation, allow_same_family}``: start a run; 202 with
    the job. Refused (400) when the judge is of the drafting model's family unless
    ``allow_same_family``."""

    @extend_schema(operation_id="judgements_list", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        runs = Job.objects.filter(project=access.project, kind=judging.KIND).order_by("-pk")
        return Response([run_data(job) for job in runs[:RUNS_LISTED]])

    @extend_schema(request=JudgementInput, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        data = JudgementInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = judging.start_judgement(
            project=access.project, actor=request.user, **data.validated_data
        )
        job.refresh_from_db()
        return Response(run_data(job), status=status.HTTP_202_ACCEPTED)


class JudgementReportView(APIView):
    """The run as the jobs API shows it, with its report: distribution, mean and 95 %
    interval, lowest-scored items, breakdowns."""

    @extend_schema(operation_id="judgement_report", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int, job_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        job = judging.project_run(access.project, job_id)
        return Response({**job_data(job), "report": reports.judgement_report(job)})


class JudgementCancelView(APIView):
    """Stop the run between items; what it judged stays."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int, job_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        job = judging.project_run(access.project, job_id)
        judging.cancel_judgement(job)
        job.refresh_from_db()
        return Response(run_data(job))


class JudgementCompareView(APIView):
    """``?a=<run>&b=<run>``: paired per-item deltas (B minus A) over the items both runs
    scored."""

    @extend_schema(operation_id="judgements_compare", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.ADMIN)
        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            raise serializers.ValidationError({"detail": COMPARE_NEEDS})
        first, second = (
            judging.project_run(access.project, a),
            judging.project_run(access.project, b),
        )
        return Response(reports.compare_runs(first, second))
