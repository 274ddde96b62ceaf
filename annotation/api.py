"""REST API for annotators: take the next item, autosave, submit, skip (``/api/v1/``).

Thin views: read the input, call one service, shape the output. Refusals a person
must act on (stale draft, lease lost, guidelines to acknowledge) answer 409 with a
``detail`` and the data needed to recover, e.g. the stored text.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import services
from annotation.selectors import ItemAccess, item_access, item_payload, project_items
from annotation.states import State
from projects.access import project_access
from projects.models import Role


class WorkInput(serializers.Serializer[Any]):
    messages = serializers.JSONField()
    base_revision = serializers.IntegerField(required=False, allow_null=True)


class SkipInput(serializers.Serializer[Any]):
    reason = serializers.CharField(allow_blank=True)


class FlagInput(serializers.Serializer[Any]):
    category = serializers.ChoiceField(choices=list(services.FLAG_CATEGORIES))
    note = serializers.CharField(allow_blank=True, required=False, default="")


def refusal(exc: services.WorkError) -> Response:
    return Response({"detail": exc.detail, **exc.data}, status=exc.status)


def _lease_payload(ia: Any) -> dict[str, Any]:
    payload = item_payload(ia)
    payload["url"] = f"/items/{ia.item.pk}/"
    return payload


class NextView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 204: None, 409: None})
    def post(self, request: Request, project_id: int) -> Response:
        """Lease the next item: 200 with the item and ``lease_expires_at``, 204 when
        nothing is left, 409 while the current guideline is unacknowledged or the
        caller already holds as many items as the project allows."""
        access = project_access(request.user, project_id, Role.ANNOTATOR)
        try:
            assignment = services.claim_next(project=access.project, user=request.user)
        except services.WorkError as exc:
            return refusal(exc)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        assignment.item.project = access.project
        ia = _item_access_for(assignment, access)
        return Response(_lease_payload(ia))


def _item_access_for(assignment: Any, access: Any) -> Any:
    return ItemAccess(assignment.item, access, assignment)


class ItemView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, item_id: int) -> Response:
        """The item: state, stage, current messages and revision, model draft, history,
        reviews with feedback, check results; for the lease holder also their draft and
        ``base_revision``."""
        return Response(_lease_payload(item_access(request.user, item_id)))


class DraftView(APIView):
    @extend_schema(request=WorkInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def put(self, request: Request, item_id: int) -> Response:
        """Autosave ``{messages, base_revision}``; answers the new ``base_revision``."""
        ia = item_access(request.user, item_id)
        data = WorkInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            assignment = services.save_draft(
                item=ia.item,
                user=request.user,
                messages=data.validated_data["messages"],
                base_revision=data.validated_data.get("base_revision"),
            )
        except services.WorkError as exc:
            return refusal(exc)
        return Response(
            {
                "base_revision": assignment.draft_version,
                "saved_at": assignment.draft_saved_at.isoformat()
                if assignment.draft_saved_at
                else None,
                "lease_expires_at": assignment.expires_at.isoformat(),
            }
        )


class LeaseView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Renew the caller's lease (the editor calls this while it is open)."""
        ia = item_access(request.user, item_id)
        try:
            assignment = services.renew_lease(item=ia.item, user=request.user)
        except services.WorkError as exc:
            return refusal(exc)
        return Response({"lease_expires_at": assignment.expires_at.isoformat()})


class SubmitView(APIView):
    @extend_schema(request=WorkInput, responses={201: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Submit ``{messages, base_revision}``. Retrying a submit that succeeded returns
        the same revision (200) instead of making a second one (201)."""
        ia = item_access(request.user, item_id)
        data = WorkInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            revision, created = services.submit(
                item=ia.item,
                user=request.user,
                messages=data.validated_data["messages"],
                base_revision=data.validated_data.get("base_revision"),
            )
        except services.WorkError as exc:
            return refusal(exc)
        return Response(
            {"revision": revision.pk, "state": ia.item.state, "item": ia.item.pk},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SkipView(APIView):
    @extend_schema(request=SkipInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Give the item back with ``{reason}``; you will not be handed it again."""
        ia = item_access(request.user, item_id)
        data = SkipInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.skip(item=ia.item, user=request.user, reason=data.validated_data["reason"])
        except services.WorkError as exc:
            return refusal(exc)
        return Response({"item": ia.item.pk, "skipped": True})


class FlagView(APIView):
    @extend_schema(request=FlagInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Flag the item ``{category: unsafe | unanswerable | duplicate, note}``."""
        ia = item_access(request.user, item_id)
        data = FlagInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.flag(item=ia.item, user=request.user, **data.validated_data)
        except services.WorkError as exc:
            return refusal(exc)
        return Response({"item": ia.item.pk, "state": State.FLAGGED})


class ItemListSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    stage = serializers.IntegerField(allow_null=True)
    priority = serializers.IntegerField()
    tags = serializers.JSONField()
    source = serializers.JSONField()  # type: ignore[assignment]
    revision = serializers.IntegerField(source="current_revision_id", allow_null=True)
    created_at = serializers.DateTimeField()
    state_changed_at = serializers.DateTimeField()


class ItemListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=State.values)],
        responses={200: ItemListSerializer(many=True)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        """The project's items, oldest first, 50 a page; ``?state=`` filters."""
        access = project_access(request.user, project_id, Role.REVIEWER)
        state = request.query_params.get("state") or None
        if state is not None and state not in State.values:
            return Response(
                {"detail": f"state must be one of {', '.join(State.values)}."}, status=400
            )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(project_items(access.project.pk, state), request)
        return paginator.get_paginated_response(ItemListSerializer(page, many=True).data)
