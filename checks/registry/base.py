"""The shape every automated check shares.

A check is a pure function ``(messages, context, options) -> Verdict``: it reads the
revision's messages and a small, already-loaded :class:`CheckContext` (the project's task
type and language, the model draft, near-duplicate candidates found by the service) and
never touches the database, so the same code runs in the worker and while the annotator
types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PASS = "pass"
WARN = "warn"
FAIL = "fail"

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Duplicate:
    """Another item of the project that looks like this one."""

    item_id: int
    similarity: float  # 1.0 for an exact duplicate
    exact: bool = False
    what: str = "pair"  # "prompt" or "pair"


@dataclass(frozen=True)
class CheckContext:
    task_type: str = "write"
    language: str = "en"
    model_draft: str = ""
    duplicates: tuple[Duplicate, ...] = ()
    # Set for stored results only (the worker), never while typing: a check that needs
    # the project's own rows (the LLM judge) loads them by these ids.
    project_id: int | None = None
    item_id: int | None = None


@dataclass(frozen=True)
class Verdict:
    """What a check found. ``failed`` means the check's rule is broken; whether that is a
    blocking ``fail`` or a ``warn`` is the project's severity, applied by the service."""

    failed: bool
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # The check could not decide (its model was unreachable): a warning whatever the
    # project's severity, never a block.
    undecided: bool = False

    @classmethod
    def ok(cls, message: str = "", **details: Any) -> Verdict:
        return cls(False, message, details)

    @classmethod
    def problem(cls, message: str, **details: Any) -> Verdict:
        return cls(True, message, details)


CheckFunction = Callable[[Messages, CheckContext, Mapping[str, Any]], Verdict]


@dataclass(frozen=True)
class Option:
    """One setting of a check: its type, default and a line of help for the Checks page."""

    name: str
    kind: str  # "int", "float", "str", "bool", "list", "choice"
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Check:
    name: str
    version: int
    label: str
    description: str
    function: CheckFunction
    default_severity: str = "warn"  # "block" or "warn"
    options: tuple[Option, ...] = ()
    needs_config: bool = False  # off in new projects until an admin configures it
    cheap: bool = True  # runs while the annotator types
    task_types: tuple[str, ...] = ()  # empty: every task type

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def run(self, messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
        merged = {**self.defaults(), **options}
        return self.function(messages, context, merged)


def contents(messages: Messages, role: str | None = None) -> list[str]:
    return [
        str(m.get("content") or "")
        for m in messages
        if isinstance(m, dict) and (role is None or m.get("role") == role)
    ]


def response_text(messages: Messages) -> str:
    """The text the annotator is answerable for: every assistant turn."""
    return "\n\n".join(contents(messages, "assistant"))


def last_response(messages: Messages) -> str:
    answers = contents(messages, "assistant")
    return answers[-1] if answers else ""


def excerpt(text: str, start: int, end: int, *, width: int = 30) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
