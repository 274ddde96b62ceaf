"""The item list of a project with the explorer's filters, and bulk actions
(``/api/v1/projects/{id}/items/`` and ``…/items/bulk/``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.states import State
from checks.models import Outcome
from overview import bulk, explorer
from overview.rows import build_rows, page_items
from projects.access import project_access
from projects.models import Role


class ItemRowSerializer(serializers.Serializer[Any]):
    """One item as the explorer lists it; describes the schema only."""

    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=State.choices)
    stage = serializers.IntegerField(allow_null=True)
    priority = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    is_gold = serializers.BooleanField()
    queue = serializers.CharField(allow_null=True, help_text="Queue name; null: the default.")
    revision = serializers.IntegerField(allow_null=True, help_text="Current revision id.")
    prompt = serializers.CharField(help_text="Excerpt of the first user turn.")
    answer = serializers.CharField(help_text="Excerpt of the current answer.")
    prompt_chars = serializers.IntegerField()
    answer_chars = serializers.IntegerField()
    turns = serializers.IntegerField(help_text="User turns: 1 for single-turn.")
    annotators = serializers.ListField(child=serializers.CharField())
    reviewers = serializers.ListField(child=serializers.CharField())
    checks = serializers.DictField(
        child=serializers.CharField(), help_text="Outcome per check, current revision."
    )
    worst_check = serializers.CharField(allow_null=True)
    judge_score = serializers.IntegerField(allow_null=True, help_text="0 to 4.")
    language = serializers.CharField(allow_null=True, help_text="Detected by the language check.")
    created_at = serializers.DateTimeField()
    state_changed_at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["import"] = serializers.IntegerField(allow_null=True, help_text="Import job id.")
        fields["source"] = serializers.JSONField(help_text="The prompt as imported.")
        return fields


FILTER_PARAMETERS = [
    OpenApiParameter("state", str, enum=State.values),
    OpenApiParameter("stage", int, description="Review stage index (0: the first)."),
    OpenApiParameter("tag", str, description="Items carrying this tag."),
    OpenApiParameter("queue", str, description="A queue id, or default."),
    OpenApiParameter("import", int, description="An import job id."),
    OpenApiParameter("annotator", str, description="Username of someone who had a turn."),
    OpenApiParameter("reviewer", str, description="Username of someone who reviewed it."),
    OpenApiParameter(
        "check",
        str,
        description="name:outcome on the current revision, outcome one of "
        + ", ".join(Outcome.values),
    ),
    OpenApiParameter("judge_min", int, description="Judge score at least (0 to 4)."),
    OpenApiParameter("judge_max", int, description="Judge score at most (0 to 4)."),
    OpenApiParameter("origin", str, enum=list(explorer.ORIGINS)),
    OpenApiParameter("gold", str, enum=["yes", "no"]),
    OpenApiParameter("q", str, description="Full text in prompts and current answers."),
    OpenApiParameter(
        "ordering",
        str,
        enum=[*explorer.ORDERINGS, *("-" + o for o in explorer.ORDERINGS)],
    ),
]


def _bad(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)


class ItemListView(APIView):
    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: ItemRowSerializer(many=True)})
    def get(self, request: Request, project_id: int) -> Response:
        """The project's items, 50 a page, filtered and ordered as in the explorer
        (annotators: the items they had a turn at). Unknown filters answer 400."""
        access = project_access(request.user, project_id, Role.ANNOTATOR)
        try:
            flt = explorer.parse(request.query_params)
        except explorer.FilterError as exc:
            return _bad(str(exc))
        items = explorer.filtered(explorer.visible_items(access, request.user), flt)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(page_items(items), request)
        rows = [row.as_dict() for row in build_rows(page or [])]
        return paginator.get_paginated_response(rows)


class BulkInput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=list(bulk.ACTIONS))
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    filter = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Explorer filters."
    )
    add = serializers.ListField(child=serializers.CharField(), required=False, help_text="retag")
    remove = serializers.ListField(child=serializers.CharField(), required=False, help_text="retag")
    priority = serializers.IntegerField(required=False, help_text="priority")
    queue = serializers.CharField(required=False, help_text="queue: an id, or default")
    reason = serializers.CharField(required=False, help_text="requeue, flag")
    discard = serializers.BooleanField(required=False, help_text="flag: as discarded")
    gold = serializers.BooleanField(required=False, help_text="gold: false to unmark")
    format = serializers.CharField(required=False, help_text="export format")
    options = serializers.DictField(required=False, help_text="export options")


class BulkView(APIView):
    @extend_schema(request=BulkInput, responses={202: OpenApiTypes.OBJECT, 400: None})
    def post(self, request: Request, project_id: int) -> Response:
        """Start a bulk action on ``ids`` or on every item matching ``filter``; answers
        the job (202). Follow it at ``/api/v1/jobs/{id}/``: items that refused the
        action are listed in its ``errors``."""
        access = project_access(request.user, project_id, Role.ADMIN)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            job = bulk.start_bulk(access=access, actor=request.user, data=data)
        except ValidationError as exc:
            return _bad(" ".join(exc.messages))
        return Response(
            {
                "id": job.pk,
                "kind": job.kind,
                "status": job.status,
                "total": job.total,
                "url": f"/api/v1/jobs/{job.pk}/",
            },
            status=status.HTTP_202_ACCEPTED,
        )
