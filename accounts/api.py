"""Tokens over the API: exchange a password for a token (throttled, with lockout after
repeated failures), list and revoke one's tokens, and log a token out."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ParseError, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import ApiToken
from accounts.services import LOCKED_OUT, lockout_minutes
from core.api import RefuseUnknownFields, request_user
from core.text import clean_text

NOT_AN_OBJECT = 'Send a JSON object: {"username": …, "password": …}.'


class TokenInputSerializer(AuthTokenSerializer):
    name = serializers.CharField(required=False, max_length=100)
    expires_in_days = serializers.IntegerField(required=False)

    def validate(self, attrs: Any) -> Any:
        RefuseUnknownFields.validate(self, attrs)  # type: ignore[arg-type]
        return super().validate(attrs)


class TokenRowSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]


class TokenView(APIView):
    """Exchange ``{"username", "password"}`` (and optionally ``name``,
    ``expires_in_days``) for ``{"token", "name", "expires_at"}``."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    throttle_scope = "auth"

    @extend_schema(request=TokenInputSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ParseError(NOT_AN_OBJECT)
        # Cleaned for the lockout lookup (no database stores a NUL); the serializer then
        # refuses such a username with a message.
        credentials = {"username": clean_text(str(request.data.get("username", "")))[:150]}
        if AxesProxyHandler.is_locked(request._request, credentials):
            raise Throttled(detail=LOCKED_OUT.format(minutes=lockout_minutes()))
        data = TokenInputSerializer(data=request.data, context={"request": request._request})
        data.is_valid(raise_exception=True)
        try:
            key, token = services.issue_token(
                user=data.validated_data["user"],
                name=data.validated_data.get("name") or "API token",
                expires_in_days=data.validated_data.get("expires_in_days"),
            )
        except ValidationError as error:
            return Response(error.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"token": key, "name": token.name, "expires_at": token.expires_at})


class TokensView(APIView):
    """The signed-in user's tokens (never their keys)."""

    @extend_schema(responses=TokenRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = ApiToken.objects.filter(user=request_user(request))
        return Response(TokenRowSerializer(rows, many=True).data)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        if not services.revoke(user=request_user(request), token_id=token_id):
            return Response({"detail": "No such token."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutView(APIView):
    """Revoke the token this request was made with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
