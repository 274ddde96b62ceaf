"""Review API: lease the next item to review, record a decision, list an item's reviews."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Item
from annotation.selectors import item_access
from core.api import request_user
from projects.access import project_access
from projects.models import Role
from reviews import decisions, selectors, services
from reviews.models import Decision, ReviewLease


class NextInputSerializer(serializers.Serializer[Any]):
    stage = serializers.IntegerField(
        min_value=0, required=False, help_text="Stage position (0 = first); any stage if absent."
    )


class DecisionInputSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=Decision.choices)
    feedback = serializers.CharField(required=False, allow_blank=True, default="")
    reasons = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    scores = serializers.DictField(required=False, default=dict)
    messages = serializers.ListField(child=serializers.DictField(), required=False)
    picked_revision = serializers.IntegerField(required=False, allow_null=True)


def lease_payload(lease: ReviewLease) -> dict[str, Any]:
    item = lease.item
    revision = item.current_revision
    return {
        "id": item.pk,
        "project": item.project_id,
        "state": item.state,
        "stage": lease.visit.stage,
        "stage_name": lease.visit.stage_name,
        "approvals": lease.visit.approvals,
        "min_approvals": lease.visit.min_approvals,
        "source": item.source,
        "model_draft": item.model_draft,
        "messages": revision.messages if revision else item.source,
        "revision": item.current_revision_id,
        "candidates": [
            {"revision": r.pk, "messages": r.messages} for r in decisions.answer_candidates(item)
        ],
        "lease_expires_at": lease.expires_at.isoformat(),
    }


class ReviewNextView(APIView):
    """Lease the next item the caller may review (never their own work)."""

    @extend_schema(request=NextInputSerializer, responses={200: OpenApiTypes.OBJECT, 204: None})
    def post(self, request: Request, project_id: int) -> Response:
        access = project_access(request.user, project_id, Role.REVIEWER)
        data = NextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lease = services.next_for_review(
            project=access.project,
            reviewer=request_user(request),
            stage=data.validated_data.get("stage"),
        )
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(lease_payload(lease))


class ItemReviewsView(APIView):
    """An item's reviews (GET), or the caller's decision on the item they hold (POST)."""

    def _item(self, request: Request, item_id: int, role: str) -> Item:
        item = get_object_or_404(Item.objects.select_related("project"), pk=item_id)
        project_access(request.user, item.project_id, role)
        return item

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, item_id: int) -> Response:
        # The item's own visibility rule: an annotator sees the items they worked on.
        item = item_access(request.user, item_id).item
        return Response(selectors.item_reviews(item))

    @extend_schema(request=DecisionInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, item_id: int) -> Response:
        item = self._item(request, item_id, Role.REVIEWER)
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = decisions.decide(
                item=item,
                reviewer=request_user(request),
                **data.validated_data,
            )
        except decisions.ReviewConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        item.refresh_from_db(fields=["state", "stage", "current_revision"])
        return Response(
            {
                **selectors.serialize_review(review),
                "item": {
                    "id": item.pk,
                    "state": item.state,
                    "stage": item.stage,
                    "revision": item.current_revision_id,
                },
            },
            status=status.HTTP_201_CREATED,
        )
