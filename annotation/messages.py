"""The chat format: one home for what a conversation is, how it is checked and normalised.

A conversation is a list of ``{"role", "content"}`` turns with roles ``system``,
``user`` and ``assistant``. A *complete* one is what a trainer accepts: an optional
system prompt first, then user and assistant turns alternating (starting with the
user), ending with the assistant, no empty turn. Drafts need only the shape.

The import, the annotator's editor, the reviewer's edit, the format check and the
export all use these functions, so a chat one of them accepts the others accept too.
Error texts are module constants that tests import.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypedDict

from django.core.exceptions import ValidationError

from core.text import clean_text as storable
from core.text import line_ends


class Message(TypedDict):
    role: str
    content: str


ROLES = ("system", "user", "assistant")
MAX_TEXT = 200_000  # characters in one conversation

MESSAGES_SHAPE = "Messages must be a list of {role, content} objects."
MESSAGES_ROLE = "Turn {n}: unknown role {role!r}; use system, user or assistant."
MESSAGES_SYSTEM_FIRST = "Turn {n}: only the first turn may be a system prompt."
MESSAGES_START = "Turn {n}: the conversation must start with the user (after any system prompt)."
MESSAGES_ALTERNATE = "Turn {n}: user and assistant turns must alternate, starting with the user."
MESSAGES_END = "The conversation must end with an assistant answer."
MESSAGES_EMPTY = "Turn {n} ({role}) is empty."
MESSAGES_NONE = "The conversation has no messages."
MESSAGES_TOO_LONG = "The text is too long ({size} characters; at most {limit})."


class Problem(NamedTuple):
    """One way a conversation breaks the format, in words."""

    text: str
    turn: int | None = None  # 1-based; None when it concerns the whole conversation
    empty: bool = False  # the turn has no text


def problems(messages: Any, *, complete: bool) -> list[Problem]:
    """Every way ``messages`` breaks the format, in the order a reader meets them; empty
    when it is valid. Shape and roles first (a list of turns with known roles), then
    length, then (``complete``) turn order, empty turns and the final answer."""
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("content", ""), str) for m in messages
    ):
        return [Problem(MESSAGES_SHAPE)]
    found = [
        Problem(MESSAGES_ROLE.format(n=n, role=m.get("role")), n)
        for n, m in enumerate(messages, start=1)
        if m.get("role") not in ROLES
    ]
    if found:
        return found
    size = sum(len(m.get("content", "")) for m in messages)
    if size > MAX_TEXT:
        return [Problem(MESSAGES_TOO_LONG.format(size=size, limit=MAX_TEXT))]
    if not complete:
        return []
    if not messages:
        return [Problem(MESSAGES_NONE)]
    expected = "user"
    for n, m in enumerate(messages, start=1):
        role = m["role"]
        if role == "system":
            if n != 1:
                found.append(Problem(MESSAGES_SYSTEM_FIRST.format(n=n), n))
        else:
            if role != expected:
                first = expected == "user" and all(x["role"] == "system" for x in messages[: n - 1])
                text = MESSAGES_START if first else MESSAGES_ALTERNATE
                found.append(Problem(text.format(n=n), n))
            expected = "assistant" if role == "user" else "user"
            if not m.get("content", "").strip():
                found.append(Problem(MESSAGES_EMPTY.format(n=n, role=role), n, empty=True))
    if messages[-1]["role"] != "assistant":
        found.append(Problem(MESSAGES_END))
    return found


def clean_text(text: str) -> str:
    """``text`` as it can be stored and exported: ``\\n`` line ends, no NUL characters
    (which PostgreSQL cannot store and trainers choke on), and each lone surrogate
    (half of a character, which UTF-8 cannot encode) replaced by U+FFFD, so a draft
    with stray bytes pasted in still saves with everything else the person typed."""
    return storable(line_ends(text))


def validate(messages: Any, *, complete: bool) -> list[Message]:
    """``messages`` in canonical form (only ``role`` and ``content``, cleaned by
    :func:`clean_text` whatever the browser or client sent), or a ``ValidationError``
    on ``messages`` naming the first problem. Every path by which text enters a
    conversation comes through here."""
    found = problems(messages, complete=complete)
    if found:
        raise ValidationError({"messages": found[0].text})
    return [{"role": m["role"], "content": clean_text(m.get("content", ""))} for m in messages]


def answer_text(messages: Sequence[Mapping[str, Any]] | None) -> str:
    """The last assistant turn (the answer being written, reviewed or judged)."""
    for message in reversed(messages or []):
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            return str(message.get("content") or "")
    return ""


def first_user_text(messages: Sequence[Mapping[str, Any]] | None) -> str:
    """The first user turn: what a chat is about, when several share a system prompt."""
    for message in messages or []:
        if isinstance(message, Mapping) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


# --- normalisation and the prompt fingerprint ----------------------------------------


def normalize_text(text: str) -> str:
    """NFC, ``\\n`` line ends, no leading or trailing whitespace."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def hash_normalized(messages: Iterable[tuple[str, str]]) -> str:
    """The fingerprint of turns that are already normalised (the importer's fast path)."""
    # Record and unit separators cannot occur in a role; the encoding is unambiguous.
    payload = "\x1e".join(f"{role}\x1f{content}" for role, content in messages)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def prompt_hash(messages: Iterable[Mapping[str, Any]]) -> str:
    """sha256 (hex) of the normalised turns of a prompt. Two prompts that differ only in
    Unicode form, line endings or surrounding whitespace get the same hash, so an
    imported prompt and one typed later compare equal (the exact-duplicate check)."""
    return hash_normalized((str(m["role"]), normalize_text(str(m["content"]))) for m in messages)
