"""Issuing, checking and revoking API tokens.

A token is 40 random URL-safe characters shown once when it is made. Its SHA-256
digest is looked up on every request (an indexed equality, so the comparison does not
leak through timing); its prefix lets the owner tell tokens apart on the Tokens page.
Tokens expire (``API_TOKEN_DAYS`` by default), can be revoked one by one, and are all
revoked when the user's password changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import ApiToken

MAX_TOKENS = 20
MAX_DAYS = 3650
TOO_MANY = "You have {limit} tokens already: revoke one first."
BAD_DAYS = "expires_in_days must be a whole number of days from 1 to {limit}."
LOCKED_OUT = (
    "Too many failed logins for this account or from this address. Try again in "
    "{minutes} minutes, or ask an admin to unlock the account."
)
NAME_NEEDED = "Give the token a name, e.g. the script or machine that uses it."
# How stale ``last_used_at`` may get: one write per token per interval, not per request.
TOUCH_EVERY = dt.timedelta(minutes=10)


def lockout_minutes() -> int:
    """How long a login stays locked after too many failures."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(
    *, user: Any, name: str = "", expires_in_days: int | None = None
) -> tuple[str, ApiToken]:
    """A new token for ``user``: returns the key (shown once) and its row."""
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": NAME_NEEDED})
    days = settings.API_TOKEN_DAYS if expires_in_days is None else expires_in_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError({"expires_in_days": BAD_DAYS.format(limit=MAX_DAYS)})
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS:
        raise ValidationError({"name": TOO_MANY.format(limit=MAX_TOKENS)})
    key = secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        digest=digest(key),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    return key, token


def token_for_key(key: str) -> ApiToken | None:
    """The live token with this key (None when unknown, revoked or expired)."""
    token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
    if token is None or token.expired or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke(*, user: Any, token_id: int) -> bool:
    return bool(ApiToken.objects.filter(user=user, pk=token_id).delete()[0])


def revoke_on_password_change(user: Any) -> None:
    """Before ``user`` is saved: a new password revokes every token of theirs."""
    if user.pk is None:
        return
    stored = type(user).objects.filter(pk=user.pk).values_list("password", flat=True).first()
    if stored is not None and stored != user.password:
        ApiToken.objects.filter(user_id=user.pk).delete()
