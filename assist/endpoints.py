"""A project's model endpoints: saved only when every field makes sense and the base
URL may be called (``assist.outbound``); the API key is write-only and stored encrypted.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assist import limits, secrets
from assist.calls import target
from assist.client import ModelError, Target, complete
from assist.families import guess_family
from assist.models import Endpoint
from assist.outbound import OutboundRefused, check_url
from core.models import JobStatus
from projects.models import Job, Project

NAME_NEEDED = "An endpoint needs a name."
NAME_TAKEN = "This project already has an endpoint called {name!r}."
MODEL_NEEDED = "Name the model, as the server knows it (e.g. gpt-4o-mini, llama3.1:8b)."
ENV_NAME = (
    "The environment variable's name may hold only letters, digits and _ (e.g. OPENAI_API_KEY)."
)
BOTH_KEYS = "Give either an API key or the environment variable that holds it, not both."
IN_USE = "A run that is still going uses this endpoint; cancel it or wait until it ends."
NUMBER = "{field} must be a number between {low:g} and {high:g}."
WHOLE = "{field} must be a whole number between {low} and {high}."

FIELDS = (
    "name",
    "base_url",
    "model",
    "family",
    "api_key",
    "api_key_env",
    "timeout",
    "max_concurrency",
    "rpm",
    "tpm",
    "supports_json_schema",
    "supports_seed",
    "supports_n",
    "price_input",
    "price_output",
)
TEST_TIMEOUT = 15.0  # seconds: the "test connection" button never waits longer
TEST_MESSAGES = [{"role": "user", "content": "Reply with the single word: ready"}]
ENV_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _number(value: Any, field: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: NUMBER.format(field=field, low=low, high=high)}) from None
    if not low <= number <= high:
        raise ValidationError({field: NUMBER.format(field=field, low=low, high=high)})
    return number


def _whole(value: Any, field: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if optional and value in (None, ""):
        return None
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ValidationError({field: WHOLE.format(field=field, low=low, high=high)}) from None
    if not low <= number <= high:
        raise ValidationError({field: WHOLE.format(field=field, low=low, high=high)})
    return number


def _price(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        price = Decimal(-1)
    if not price.is_finite() or price < 0 or price >= 1_000_000:
        raise ValidationError({field: f"{field} is a price per million tokens, 0 or more."})
    return price.quantize(Decimal("0.0001"))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _apply_fields(endpoint: Endpoint, data: dict[str, Any]) -> None:  # noqa: C901
    """Copy ``data`` (only the keys given) onto ``endpoint``, validating each."""
    if "name" in data:
        endpoint.name = _text(data["name"])[:100]
    if "base_url" in data:
        endpoint.base_url = _text(data["base_url"]).rstrip("/")
    if "model" in data:
        endpoint.model = _text(data["model"])[:200]
    if "family" in data:
        endpoint.family = _text(data["family"]).lower()[:50]
    if "api_key_env" in data:
        endpoint.api_key_env = _text(data["api_key_env"])
    if "timeout" in data:
        endpoint.timeout = _number(data["timeout"], "timeout", 1, 600)
    if "max_concurrency" in data:
        endpoint.max_concurrency = _whole(data["max_concurrency"], "max_concurrency", 1, 256) or 1
    for field in ("rpm", "tpm"):
        if field in data:
            setattr(endpoint, field, _whole(data[field], field, 1, 100_000_000, optional=True))
    for field in ("supports_json_schema", "supports_seed", "supports_n"):
        if field in data:
            setattr(endpoint, field, bool(data[field]))
    for field in ("price_input", "price_output"):
        if field in data:
            setattr(endpoint, field, _price(data[field], field))
    if "api_key" in data and data["api_key"] is not None:
        # "" clears the stored key; None (or absent) keeps it.
        endpoint.api_key_encrypted = secrets.encrypt(str(data["api_key"]).strip())


def _check(endpoint: Endpoint) -> None:
    if not endpoint.name:
        raise ValidationError({"name": NAME_NEEDED})
    if not endpoint.model:
        raise ValidationError({"model": MODEL_NEEDED})
    try:
        check_url(endpoint.base_url)
    except OutboundRefused as refused:
        raise ValidationError({"base_url": str(refused)}) from None
    if endpoint.api_key_env and not ENV_PATTERN.match(endpoint.api_key_env):
        raise ValidationError({"api_key_env": ENV_NAME})
    if endpoint.api_key_env and endpoint.api_key_encrypted:
        raise ValidationError({"api_key": BOTH_KEYS})
    if not endpoint.family:
        endpoint.family = guess_family(endpoint.model)


def save_endpoint(
    *, project: Project, data: dict[str, Any], endpoint: Endpoint | None = None
) -> Endpoint:
    """Create (``endpoint`` None) or change an endpoint with the given fields; all or
    nothing. ``api_key``: a new key, ``""`` to clear it, absent to keep it. A blank
    ``family`` is filled from the model's name."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
    row = endpoint if endpoint is not None else Endpoint(project=project)
    if endpoint is None and "family" not in data:
        data = {**data, "family": ""}
    _apply_fields(row, data)
    _check(row)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ValidationError({"name": NAME_TAKEN.format(name=row.name)}) from None
    return row


def delete_endpoint(*, endpoint: Endpoint) -> None:
    """Remove an endpoint no unfinished run uses (finished runs keep their own record
    of its base URL and model)."""
    busy = Job.objects.filter(
        project_id=endpoint.project_id,
        status__in=[JobStatus.PENDING, JobStatus.RUNNING],
        params__endpoint=endpoint.pk,
    ).exists()
    if busy:
        raise ValidationError(IN_USE)
    endpoint.delete()


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    answer: str
    latency_ms: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "answer": self.answer,
            "latency_ms": self.latency_ms,
            "message": self.message,
        }


def try_endpoint(endpoint: Endpoint) -> ConnectionTest:
    """One short call, at most ``TEST_TIMEOUT`` seconds however long the endpoint's own
    timeout: the model's answer and the latency, or what went wrong in words."""
    started = time.monotonic()
    try:
        where = target(endpoint)
        boxed = Target(
            base_url=where.base_url,
            model=where.model,
            api_key=where.api_key,
            timeout=min(float(endpoint.timeout or TEST_TIMEOUT), TEST_TIMEOUT),
        )
        with limits.slot(endpoint, estimated_tokens=16, max_wait=5.0):
            answer = complete(boxed, TEST_MESSAGES, {"max_tokens": 16})
    except ModelError as error:
        latency = int((time.monotonic() - started) * 1000)
        return ConnectionTest(False, "", latency, error.message)
    return ConnectionTest(True, answer.text, answer.latency_ms, "The endpoint answered.")
