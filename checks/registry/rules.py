"""Project rules (required prefix, forbidden phrases, a regex, JSON answers) and the
rubber-stamp check for ``correct`` tasks."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import regex

from checks.registry.base import (
    CheckContext,
    Messages,
    Verdict,
    contents,
    last_response,
    response_text,
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def edit_ratio(before: str, after: str) -> float:
    """How much of the text changed, 0 (identical) to 1 (all new), by characters."""
    if before == after:
        return 0.0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return 1.0 - matcher.ratio()


def check_rubber_stamp(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """In a ``correct`` task the annotator changed the model's draft (at least a minimal share)."""
    draft = _norm(context.model_draft)
    if context.task_type != "correct" or not draft:
        return Verdict.ok("No model draft to compare with.")
    answer = _norm(last_response(messages))  # the turn the draft was for
    if answer == draft:
        return Verdict.problem("The answer is the model's draft unchanged.", edit_ratio=0.0)
    minimum = float(options["min_edit_ratio"])
    ratio = edit_ratio(draft, answer) if minimum > 0 else 1.0
    if ratio < minimum:
        return Verdict.problem(
            f"Only {ratio:.1%} of the model's draft was changed; the project asks for at least {minimum:.0%}.",
            edit_ratio=round(ratio, 4),
        )
    return Verdict.ok("The model's draft was corrected.", edit_ratio=round(ratio, 4))


def check_required_prefix(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """Every assistant turn starts with the project's prefix (e.g. "CloudSync Pro Support:")."""
    prefix = str(options.get("prefix") or "")
    if not prefix:
        return Verdict.ok("No prefix configured.")
    answers = contents(messages, "assistant")
    missing = [i for i, a in enumerate(answers, start=1) if not a.lstrip().startswith(prefix)]
    if missing:
        which = (
            "The answer does not" if len(answers) == 1 else f"Assistant turn {missing[0]} does not"
        )
        return Verdict.problem(f"{which} start with “{prefix}”.", turns=missing)
    return Verdict.ok(f"Starts with “{prefix}”.")


def check_forbidden_phrases(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """None of the project's forbidden phrases appears in the answer."""
    text = response_text(messages).lower()
    hits = [p for p in options.get("phrases") or [] if str(p).strip() and str(p).lower() in text]
    if hits:
        return Verdict.problem(
            "The answer uses forbidden phrases: " + ", ".join(f"“{h}”" for h in hits) + ".",
            phrases=hits,
        )
    return Verdict.ok("No forbidden phrases.")


# Every project pattern runs with this budget per answer, in the web process (live
# checks) and the worker alike. The ``regex`` package (well kept, Python's syntax, so
# patterns with look-arounds and back-references keep working) stops a search that
# overruns it; a linear-time engine such as RE2 would refuse those patterns outright.
REGEX_BUDGET = 0.2  # seconds
REGEX_TIMED_OUT = (
    "The pattern {description} took longer than {budget:g} s on this answer and was "
    "stopped. Simplify it: nested repetition such as (a|aa)+ makes patterns backtrack."
)


@functools.lru_cache(maxsize=256)
def compile_rule(pattern: str) -> Any:
    """The compiled pattern (cached: live checks run it on every pause in typing)."""
    return regex.compile(pattern, regex.MULTILINE)


def check_regex(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The answer matches (or, with mode "forbid", does not match) the project's regex."""
    pattern = str(options.get("pattern") or "")
    if not pattern:
        return Verdict.ok("No pattern configured.")
    text = response_text(messages)
    description = str(options.get("description") or f"/{pattern}/")
    try:
        match = compile_rule(pattern).search(text, timeout=REGEX_BUDGET)
    except TimeoutError:
        return Verdict.problem(
            REGEX_TIMED_OUT.format(description=description, budget=REGEX_BUDGET), timed_out=True
        )
    if options.get("mode") == "forbid":
        if match:
            return Verdict.problem(
                f"The answer must not match {description}: “{match.group(0)[:60]}”."
            )
        return Verdict.ok(f"Does not match {description}.")
    if not match:
        return Verdict.problem(f"The answer does not match {description}.")
    return Verdict.ok(f"Matches {description}.")


def check_json(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The answer is valid JSON (optionally inside one ```json fence)."""
    text = response_text(messages).strip()
    if options.get("allow_fence", True):
        fenced = re.fullmatch(r"```(?:json)?\s*\n(.*)\n```", text, re.DOTALL)
        if fenced:
            text = fenced.group(1)
    try:
        value = json.loads(text)
    except RecursionError:
        return Verdict.problem("The answer is JSON nested too deeply to read.")
    except json.JSONDecodeError as exc:
        return Verdict.problem(
            f"The answer is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            line=exc.lineno,
            column=exc.colno,
        )
    wanted = options.get("top_level") or "any"
    if wanted == "object" and not isinstance(value, dict):
        return Verdict.problem("The answer is JSON but not an object.")
    if wanted == "array" and not isinstance(value, list):
        return Verdict.problem("The answer is JSON but not an array.")
    return Verdict.ok("The answer is valid JSON.")
