"""Prompt versions: saved only with placeholders an item can fill and parameters the
model understands; frozen once a run used them (a change is a child version), while
labels such as "production" move freely, each on at most one version of a kind.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Item
from assist.models import PromptKind, PromptVersion
from assist.prompting import chat_messages, item_context, unknown_placeholders
from projects.models import Project

NAME_NEEDED = "A prompt version needs a name."
NAME_TAKEN = "This project already has a prompt version called {name!r}."
TEMPLATE_NEEDED = "The user template is empty: write what the model is asked."
LOCKED = (
    "Version {name!r} was used by a run, so its text and parameters are frozen. "
    "Make a new version from it instead; its labels can still move."
)
UNKNOWN_PARAM = "Unknown parameter(s): {names}. Use temperature, max_tokens, seed or top_p."
PARAMS_OBJECT = 'Parameters must be an object such as {"temperature": 0.2}.'
BAD_KIND = "Kind must be draft, judge or generate."
BAD_LABEL = "Labels are short words (letters, digits, - or _), e.g. production."
LABELS_LIST = "Labels must be a list of words."
BAD_PARENT = "The parent must be another version of this project."

PARAMS: dict[str, tuple[type, float, float]] = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "max_tokens": (int, 1, 200_000),
    "seed": (int, -(2**63), 2**63 - 1),
}
FROZEN = ("system", "template", "params", "kind")
LABEL = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


def clean_params(raw: Any) -> dict[str, Any]:
    """The parameters typed, or ValidationError naming what is wrong."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"params": PARAMS_OBJECT})
    unknown = sorted(set(raw) - set(PARAMS))
    if unknown:
        raise ValidationError({"params": UNKNOWN_PARAM.format(names=", ".join(unknown))})
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        if value in (None, ""):
            continue
        kind, low, high = PARAMS[name]
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(value)
            if kind is int and float(value) != number:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError(
                {"params": f"{name} must be a {'whole ' if kind is int else ''}number."}
            ) from None
        if not low <= number <= high:
            raise ValidationError({"params": f"{name} must be between {low:g} and {high:g}."})
        cleaned[name] = number
    return cleaned


def clean_labels(raw: Any) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,\s]+", raw) if part]
    if not isinstance(raw, list):
        raise ValidationError({"labels": LABELS_LIST})
    labels = [str(label).strip() for label in raw]
    if any(not LABEL.match(label) for label in labels):
        raise ValidationError({"labels": BAD_LABEL})
    return list(dict.fromkeys(labels))


def _check_text(version: PromptVersion) -> None:
    if not version.name:
        raise ValidationError({"name": NAME_NEEDED})
    if version.kind not in PromptKind.values:
        raise ValidationError({"kind": BAD_KIND})
    if not (version.template or "").strip():
        raise ValidationError({"template": TEMPLATE_NEEDED})
    unknown = unknown_placeholders(version.system, version.template)
    if unknown:
        raise ValidationError({"template": unknown})


def _move_labels(version: PromptVersion) -> None:
    """Take this version's labels off every other version of the same kind."""
    if not version.labels:
        return
    others = (
        PromptVersion.objects.select_for_update()
        .filter(project_id=version.project_id, kind=version.kind)
        .exclude(pk=version.pk)
    )
    for other in others:
        kept = [label for label in other.labels or [] if label not in version.labels]
        if kept != list(other.labels or []):
            other.labels = kept
            other.save(update_fields=["labels"])


def _save(version: PromptVersion, fields: list[str] | None = None) -> PromptVersion:
    try:
        with transaction.atomic():
            version.save(update_fields=fields) if fields else version.save()
            _move_labels(version)
    except IntegrityError:
        raise ValidationError({"name": NAME_TAKEN.format(name=version.name)}) from None
    return version


def create_prompt(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    name: str,
    template: str,
    kind: str = PromptKind.DRAFT,
    system: str = "",
    params: Any = None,
    parent: PromptVersion | int | None = None,
    labels: Any = None,
) -> PromptVersion:
    """A new version; ``parent`` (a version of this project) is what it was made from."""
    if parent is not None and not isinstance(parent, PromptVersion):
        parent = PromptVersion.objects.filter(project=project, pk=parent).first()
        if parent is None:
            raise ValidationError({"parent": BAD_PARENT})
    if parent is not None and parent.project_id != project.pk:
        raise ValidationError({"parent": BAD_PARENT})
    version = PromptVersion(
        project=project,
        name=(name or "").strip()[:100],
        kind=kind or PromptKind.DRAFT,
        system=system or "",
        template=template or "",
        params=clean_params(params),
        parent=parent,
        labels=clean_labels(labels),
        created_by=actor if isinstance(actor, User) else None,
    )
    _check_text(version)
    return _save(version)


def update_prompt(*, version: PromptVersion, changes: dict[str, Any]) -> PromptVersion:
    """Change a version: its name and labels always; its text, kind and parameters only
    while no run has used it (``PromptLocked`` otherwise)."""
    version.refresh_from_db()
    frozen = [f for f in FROZEN if f in changes]
    if version.used_at is not None and frozen:
        params = clean_params(changes["params"]) if "params" in changes else version.params
        same = all((params if f == "params" else changes[f]) == getattr(version, f) for f in frozen)
        if not same:
            raise PromptLocked(LOCKED.format(name=version.name))
    fields = []
    if "name" in changes:
        version.name = str(changes["name"] or "").strip()[:100]
        fields.append("name")
    for field in ("system", "template", "kind"):
        if field in changes:
            setattr(version, field, str(changes[field] or ""))
            fields.append(field)
    if "params" in changes:
        version.params = clean_params(changes["params"])
        fields.append("params")
    if "labels" in changes:
        version.labels = clean_labels(changes["labels"])
        fields.append("labels")
    _check_text(version)
    return _save(version, fields or None) if fields else version


class PromptLocked(ValidationError):
    """A change to a version a run has used (its text, kind or parameters)."""


def mark_used(version: PromptVersion) -> None:
    """Freeze the version: a run is about to send it."""
    PromptVersion.objects.filter(pk=version.pk, used_at__isnull=True).update(used_at=timezone.now())


def preview(version: PromptVersion, item: Item) -> list[dict[str, str]]:
    """The exact messages a run of ``version`` would send for ``item``."""
    return chat_messages(version.system, version.template, item_context(item))


def child_initial(version: PromptVersion) -> dict[str, Any]:
    """What "new version from this one" starts from."""
    return {
        "name": f"{version.name} (new)"[:100],
        "kind": version.kind,
        "system": version.system,
        "template": version.template,
        "params": dict(version.params or {}),
        "parent": version.pk,
    }
