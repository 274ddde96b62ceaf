"""REST API for annotators: take the next item, autosave, submit, skip (``/api/v1/``);
and for project admins: reopen an approved item, unflag a flagged one.

Thin views: read the input, call one service, shape the output. Refusals a person
must act on (stale draft, lease lost, guidelines to acknowledge) answer 409 with a
``detail`` and the data needed to recover, e.g. the stored text.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import leases, selectors, services
from annotation.selectors import ItemAccess, item_access, item_payload
from annotation.states import State
from core.api import RefuseUnknownFields
from projects.access import project_access
from projects.models import Role


class WorkInput(serializers.Serializer[Any]):
    messages = serializers.JSONField()
    base_revision = serializers.IntegerField(required=False, allow_null=True)
    active_seconds = serializers.IntegerField(
        min_value=0,
        max_value=86_400,
        required=False,
        allow_null=True,
        help_text="Seconds of active editing since the previous save (capped by the server "
        "at the time that has passed).",
    )


class SkipInput(serializers.Serializer[Any]):
    reason = serializers.CharField(
        allow_blank=True, help_text="One of the project's skip_reasons (or your own, with Other)."
    )
    note = serializers.CharField(allow_blank=True, required=False, default="")


class FlagInput(serializers.Serializer[Any]):
    category = serializers.CharField(
        allow_blank=True, help_text="One of the project's flag_categories."
    )
    note = serializers.CharField(allow_blank=True, required=False, default="")


class ReasonInput(RefuseUnknownFields, serializers.Serializer[Any]):
    # Optional here so that a missing reason gets the service's own words, as a blank one does.
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class HistoryRowSerializer(serializers.Serializer[Any]):
    """One move in the item's history (``from`` and ``to`` are states)."""

    from_stage = serializers.IntegerField(allow_null=True)
    to_stage = serializers.IntegerField(allow_null=True)
    event = serializers.CharField()
    actor = serializers.CharField(allow_null=True, help_text="Username; null for the system.")
    reason = serializers.CharField()
    at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # ``from`` is a Python keyword and ``data`` a serializer's own attribute, so
        # these fields are added here rather than declared.
        fields = {
            "from": serializers.ChoiceField(choices=State.choices),
            "to": serializers.ChoiceField(choices=State.choices),
            **super().get_fields(),
        }
        fields["data"] = serializers.JSONField()
        return fields


class AssignmentOutSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    is_rework = serializers.BooleanField()
    lease_expires_at = serializers.DateTimeField()


class ItemSerializer(serializers.Serializer[Any]):
    """``GET /api/v1/items/{id}/`` (and a lease from ``next/``), as
    ``annotation.selectors.item_payload`` builds it; describes the schema only."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    task_type = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    stage = serializers.IntegerField(allow_null=True)
    priority = serializers.IntegerField()
    messages = serializers.JSONField(allow_null=True, help_text="The current revision's messages.")
    revision = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The version token: echo it back as base_revision to draft/ and submit/. "
            "For the annotator working the item, their draft's version (it advances "
            "on every save); for everyone else, the current revision's id."
        ),
    )
    model_draft = serializers.CharField()
    metadata = serializers.JSONField()
    tags = serializers.ListField(child=serializers.CharField())
    history = HistoryRowSerializer(many=True)
    reviews = serializers.ListField(child=serializers.JSONField(), required=False)
    checks = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="[{name, outcome: pass | warn | fail, message}] for the current revision.",
    )
    is_gold = serializers.BooleanField(required=False, help_text="Project admins only.")
    turns = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="Project admins only: each annotator's turn "
        "[{user, status, active_seconds, blind, leased_at, finished_at}].",
    )
    url = serializers.CharField(help_text="The item's page.")
    # The caller's own turn at the item, when they have one.
    assignment = AssignmentOutSerializer(required=False)
    lease_expires_at = serializers.DateTimeField(required=False)
    draft = serializers.JSONField(required=False, allow_null=True)
    base_revision = serializers.IntegerField(
        required=False, help_text="Deprecated: the same number as revision while you hold it."
    )
    draft_saved_at = serializers.DateTimeField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # ``source`` is also an attribute of every serializer: added here, not declared.
        fields = super().get_fields()
        fields["source"] = serializers.JSONField(help_text="The prompt as imported: chat messages.")
        return fields


def refusal(exc: leases.WorkError) -> Response:
    return Response({"detail": exc.detail, **exc.data}, status=exc.status)


def _lease_payload(ia: Any) -> dict[str, Any]:
    payload = item_payload(ia)
    payload["url"] = reverse("annotation:item", args=[ia.item.pk])
    return payload


class NextView(APIView):
    @extend_schema(request=None, responses={200: ItemSerializer, 204: None, 409: None})
    def post(self, request: Request, project_id: int) -> Response:
        """Lease the next item: 200 with the item and ``lease_expires_at``, 204 when
        nothing is left, 409 while the current guideline is unacknowledged or the
        caller already holds as many items as the project allows."""
        access = project_access(request.user, project_id, Role.ANNOTATOR)
        try:
            assignment = leases.claim_next(project=access.project, user=request.user)
        except leases.WorkError as exc:
            return refusal(exc)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        assignment.item.project = access.project
        ia = _item_access_for(assignment, access)
        return Response(_lease_payload(ia))


def _item_access_for(assignment: Any, access: Any) -> Any:
    return ItemAccess(assignment.item, access, assignment)


class ItemView(APIView):
    @extend_schema(responses={200: ItemSerializer})
    def get(self, request: Request, item_id: int) -> Response:
        """The item: state, stage, current messages and revision, model draft, history,
        reviews with feedback, check results; for the lease holder also their draft and
        ``base_revision``."""
        return Response(_lease_payload(item_access(request.user, item_id)))


class DraftView(APIView):
    @extend_schema(request=WorkInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def put(self, request: Request, item_id: int) -> Response:
        """Autosave ``{messages, base_revision}``, ``base_revision`` being the ``revision``
        the item (or the previous save) returned; answers the new token as ``revision``
        (and, for older clients, as ``base_revision``: the same number). 409 with the
        stored text and its token when another tab saved a different text since."""
        ia = item_access(request.user, item_id)
        data = WorkInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            assignment = services.save_draft(
                item=ia.item,
                user=request.user,
                messages=data.validated_data["messages"],
                base_revision=data.validated_data.get("base_revision"),
                active_seconds=data.validated_data.get("active_seconds"),
            )
        except leases.WorkError as exc:
            return refusal(exc)
        revealed = {"model_draft": ia.item.model_draft} if assignment.blind else {}
        return Response(
            {
                # Written blind (anchoring guard): the model's draft, now that it is saved.
                **revealed,
                # Guidelines published since the caller last acknowledged them (null
                # when none): submit/ answers 409 until they acknowledge.
                "guideline": selectors.guideline_changes(ia.item.project, request.user),
                "revision": assignment.draft_version,
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
            assignment = leases.renew_lease(item=ia.item, user=request.user)
        except leases.WorkError as exc:
            return refusal(exc)
        return Response({"lease_expires_at": assignment.expires_at.isoformat()})


class SubmitView(APIView):
    @extend_schema(request=WorkInput, responses={201: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Submit ``{messages, base_revision}`` (``base_revision``: the ``revision`` the
        item or the last save returned; 409 with the stored text when it is stale and
        the texts differ). Retrying a submit that succeeded returns
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
                active_seconds=data.validated_data.get("active_seconds"),
            )
        except leases.WorkError as exc:
            return refusal(exc)
        return Response(
            {"revision": revision.pk, "state": ia.item.state, "item": ia.item.pk},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SkipView(APIView):
    @extend_schema(request=SkipInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Give the item back with ``{reason, note}``, ``reason`` one of the project's
        ``skip_reasons``; you will not be handed it again."""
        ia = item_access(request.user, item_id)
        data = SkipInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.skip(item=ia.item, user=request.user, **data.validated_data)
        except leases.WorkError as exc:
            return refusal(exc)
        return Response({"item": ia.item.pk, "skipped": True})


class FlagView(APIView):
    @extend_schema(request=FlagInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Flag the item ``{category, note}``, ``category`` one of the project's
        ``flag_categories`` (by default unsafe, unanswerable, duplicate); another
        category answers 400 listing them."""
        ia = item_access(request.user, item_id)
        data = FlagInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.flag(item=ia.item, user=request.user, **data.validated_data)
        except leases.WorkError as exc:
            return refusal(exc)
        return Response({"item": ia.item.pk, "state": State.FLAGGED})


class ReopenView(APIView):
    @extend_schema(request=ReasonInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Project admins: send an approved item back to checks and review with
        ``{reason}``. 409 when the item is not approved (or someone moved it first)."""
        ia = item_access(request.user, item_id, Role.ADMIN)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.reopen(item=ia.item, actor=request.user, **data.validated_data)
        except leases.WorkError as exc:
            return refusal(exc)
        ia.item.refresh_from_db(fields=["state", "stage"])
        return Response({"item": ia.item.pk, "state": ia.item.state})


class UnflagView(APIView):
    @extend_schema(request=ReasonInput, responses={200: OpenApiTypes.OBJECT, 409: None})
    def post(self, request: Request, item_id: int) -> Response:
        """Project admins: put a flagged item back in the queue with ``{reason}``, to be
        worked again by any annotator. 409 when the item is not flagged (or someone
        moved it first)."""
        ia = item_access(request.user, item_id, Role.ADMIN)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.unflag(item=ia.item, actor=request.user, **data.validated_data)
        except leases.WorkError as exc:
            return refusal(exc)
        return Response({"item": ia.item.pk, "state": ia.item.state})
