"""Prompt templates: ``{{placeholders}}`` filled from one item's fields.

Placeholders: ``{{prompt}}`` (the last user turn), ``{{conversation}}`` (every turn
before the answer, as ``Role: text`` lines), ``{{system}}``, ``{{draft}}`` (the model
draft), ``{{answer}}`` (the current answer, or the text being judged), ``{{reference}}``,
``{{instruction}}`` and ``{{input}}`` (a prompt imported in two parts), ``{{tags}}``
(comma-separated) and ``{{metadata.<key>}}``. An unknown name is an error when the version
is saved, never an empty string sent to the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from annotation import messages as chat
from annotation.models import Item

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-]+)?)\s*\}\}")
NAMES = (
    "prompt",
    "conversation",
    "system",
    "draft",
    "answer",
    "reference",
    "instruction",
    "input",
    "tags",
)
UNKNOWN = "Unknown placeholder {{{{{name}}}}}: use {choices} or metadata.<key>."


def unknown_placeholders(*templates: str) -> list[str]:
    """Messages naming every placeholder these templates use that no item can fill."""
    found = []
    for template in templates:
        for match in PLACEHOLDER.finditer(template or ""):
            name = match.group(1)
            if name not in NAMES and not name.startswith("metadata."):
                found.append(UNKNOWN.format(name=name, choices=", ".join(NAMES)))
    return list(dict.fromkeys(found))


def _transcript(turns: list[Mapping[str, Any]]) -> str:
    return "\n\n".join(f"{str(t['role']).capitalize()}: {t['content']}" for t in turns)


def item_context(item: Item, *, answer: str | None = None) -> dict[str, str]:
    """What the placeholders of ``item`` read. ``answer`` overrides the item's current
    answer (a judge rating a model draft passes the draft here)."""
    source = [m for m in (item.source or []) if isinstance(m, dict)]
    revision = item.current_revision
    current = list(revision.messages) if revision is not None else []
    turns = current or source
    context_turns = turns[:-1] if turns and turns[-1].get("role") == "assistant" else turns
    system = "\n\n".join(str(m["content"]) for m in context_turns if m.get("role") == "system")
    dialogue = [m for m in context_turns if m.get("role") != "system"]
    users = [m for m in dialogue if m.get("role") == "user"]
    parts = (item.metadata or {}).get("prompt_parts")
    instruction, extra = "", ""
    if isinstance(parts, dict):
        instruction, extra = str(parts.get("instruction", "")), str(parts.get("input", ""))
    values = {
        "prompt": str(users[-1]["content"]) if users else "",
        "conversation": _transcript(dialogue),
        "system": system,
        "draft": item.model_draft or "",
        "answer": answer if answer is not None else chat.answer_text(current),
        "reference": item.reference or "",
        "instruction": instruction or (str(users[-1]["content"]) if users else ""),
        "input": extra,
        "tags": ", ".join(str(t) for t in (item.tags or [])),
    }
    for key, value in (item.metadata or {}).items():
        if key != "prompt_parts":
            values[f"metadata.{key}"] = value if isinstance(value, str) else str(value)
    return values


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each placeholder replaced; a metadata key the item lacks is
    empty (items differ in their metadata), any other unknown name is left as written."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return "" if name.startswith("metadata.") else match.group(0)

    return PLACEHOLDER.sub(fill, template or "")


def chat_messages(system: str, template: str, values: Mapping[str, str]) -> list[dict[str, str]]:
    """The messages sent to the model for one item."""
    sent = []
    if system.strip():
        sent.append({"role": "system", "content": render(system, values)})
    sent.append({"role": "user", "content": render(template, values)})
    return sent
