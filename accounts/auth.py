"""DRF authentication by ``Authorization: Token <key>`` against hashed tokens."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from accounts.services import token_for_key

INVALID = "The token is not valid: it is unknown, revoked or expired. Ask for a new one."


class HashedTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID)
        return token.user, token
