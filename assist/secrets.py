"""Endpoint API keys at rest: encrypted with a key derived from ``SECRET_KEY``.

A key read back after ``SECRET_KEY`` changed cannot be decrypted; the endpoint then
says its key must be entered again instead of calling the model without one.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

KEY_LOST = "The stored API key can no longer be read (the server's secret changed): enter it again."
ENV_MISSING = "The environment variable {name} that should hold the API key is not set."


class SecretUnavailable(ValueError):
    """The key cannot be produced; the message says what the admin should do."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"scriptorium endpoint keys\0" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(api_key: str) -> str:
    return _fernet().encrypt(api_key.encode()).decode() if api_key else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable(KEY_LOST) from None


def api_key(encrypted: str, env_name: str) -> str:
    """The key to send: from the named environment variable, else the stored one, else
    none (local servers such as Ollama need none)."""
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise SecretUnavailable(ENV_MISSING.format(name=env_name))
        return value
    return decrypt(encrypted)
