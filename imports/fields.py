"""What every import format reads the same way: one :class:`Candidate` conversation per
row, its roles and texts checked with row-level errors, and the per-row fields any JSON
format may carry (``external_id``, ``metadata``, ``tags``, ``priority``, …)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imports.files import RowError

ROLE_ALIASES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
}

# Metadata key of a prompt the file gave in two parts (Alpaca ``instruction`` and
# ``input``; a CSV's prompt and input columns). The user turn joins them for the
# annotator, ``normalize_text(f"{instruction}\n{input}")``; the parts, as the file has
# them, let an exporter write ``instruction`` and ``input`` apart again.
PROMPT_PARTS = "prompt_parts"

MISSING = "The row has no {field!r} field{hint}."
WRONG_TYPE = "{field!r} must be {expected}, not {kind}."
UNKNOWN_ROLE = "Unknown role {role!r}: use system, user or assistant."
ONLY_TEXT = "Only text content can be imported; this message has {kind} parts."


@dataclass
class Candidate:
    """One conversation as the file has it, before normalization."""

    messages: list[tuple[str, str]]
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    priority: int = 0


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text_of(value: Any, name: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="text", kind=kind_of(value)), field=name
        )
    return value


def require(row: dict[str, Any], key: str, hint: str = "") -> Any:
    if key not in row:
        raise RowError(MISSING.format(field=key, hint=hint), field=key)
    return row[key]


def role_of(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="text", kind=kind_of(value)), field=name
        )
    role = ROLE_ALIASES.get(value.strip().lower())
    if role is None:
        raise RowError(UNKNOWN_ROLE.format(role=value), field=name)
    return role


def content_of(value: Any, name: str) -> str:
    if isinstance(value, list):  # OpenAI content parts
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else kind_of(part)
                raise RowError(ONLY_TEXT.format(kind=kind), field=name)
            texts.append(text_of(part.get("text"), f"{name}.text"))
        return "".join(texts)
    return text_of(value, name)


def message_list(value: Any, name: str, role_key: str, content_key: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="a list", kind=kind_of(value)), field=name
        )
    out = []
    for i, message in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(message, dict):
            raise RowError(
                WRONG_TYPE.format(field=where, expected="an object", kind=kind_of(message)),
                field=where,
            )
        if role_key not in message:
            raise RowError(MISSING.format(field=role_key, hint=f" in {where}"), field=where)
        if content_key not in message:
            raise RowError(MISSING.format(field=content_key, hint=f" in {where}"), field=where)
        role = role_of(message[role_key], f"{where}.{role_key}")
        out.append((role, content_of(message[content_key], f"{where}.{content_key}")))
    return out


# --- per-row fields every JSON format may carry ---------------------------------------

OWN_KEYS = {"external_id", "metadata", "tags", "priority", "source", "licence", "license"}


def common_fields(row: dict[str, Any], candidate: Candidate, *, id_keys: tuple[str, ...]) -> None:
    for key in ("external_id", *id_keys):
        value = row.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RowError(
                WRONG_TYPE.format(
                    field=key, expected="text or a whole number", kind=kind_of(value)
                ),
                field=key,
            )
        candidate.external_id = str(value).strip()[:255] or None
        break
    metadata = row.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise RowError(
                WRONG_TYPE.format(field="metadata", expected="an object", kind=kind_of(metadata)),
                field="metadata",
            )
        candidate.metadata.update(metadata)
    # Tags and priority are checked only in rows that carry them.
    tags = row.get("tags")
    if tags is not None:
        candidate.tags = _tags(tags)
    priority = row.get("priority")
    if priority is not None and priority != "":
        candidate.priority = _priority(priority)
    for key, target in (("source", "source"), ("licence", "licence"), ("license", "licence")):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            candidate.metadata[target] = value.strip()


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = [t for t in (s.strip() for s in tags.replace(";", ",").split(",")) if t]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RowError(
            WRONG_TYPE.format(field="tags", expected="a list of text", kind=kind_of(tags)),
            field="tags",
        )
    return [t.strip() for t in tags if t.strip()]


def _priority(priority: Any) -> int:
    if isinstance(priority, str) and priority.strip().lstrip("-").isdigit():
        priority = int(priority.strip())
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RowError(
            WRONG_TYPE.format(field="priority", expected="a whole number", kind=kind_of(priority)),
            field="priority",
        )
    if not -(2**31) <= priority < 2**31:
        raise RowError("'priority' is out of range.", field="priority")
    checked: int = priority
    return checked


def extras(row: dict[str, Any], known: set[str], candidate: Candidate) -> None:
    """Keep the row's other simple fields (a name, a category) in metadata."""
    extra = {
        k: v
        for k, v in row.items()
        if k not in known and k not in OWN_KEYS and isinstance(v, str | int | float | bool)
    }
    if extra:
        candidate.metadata.setdefault("fields", {}).update(extra)
