"""Each project's check configuration: which checks are on, how severe a failure is,
and their options, cleaned and saved all or nothing.

A check added to the registry after a project was made appears with its defaults;
a stored option the check no longer has is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import regex
from django.core.exceptions import ValidationError
from django.db import transaction

from checks.models import CheckConfig, Severity
from checks.registry import REGISTRY, Check, Option
from checks.registry.language import language_name
from checks.registry.rules import REGEX_BUDGET, compile_rule
from projects.models import Project

UNKNOWN_CHECK = "There is no check called {name!r}."
BAD_SEVERITY = "{name}: severity must be “block” or “warn”."
BAD_ENABLED = "{name}: enabled must be true or false."
UNKNOWN_OPTION = "{name}: unknown option {option!r}."
BAD_OPTION = "{name}: {option} {problem}."
BAD_CHANGES = 'Send an object keyed by check name, e.g. {"pii": {"severity": "block"}}.'
NEEDS_SETTING = "{name}: set {option} before enabling this check."

# Options whose emptiness means the check has nothing to do yet.
REQUIRED_SETTING = {"required_prefix": "prefix", "forbidden_phrases": "phrases", "regex": "pattern"}


@dataclass(frozen=True)
class ConfiguredCheck:
    check: Check
    enabled: bool
    severity: str
    options: dict[str, Any]

    @property
    def name(self) -> str:
        return self.check.name

    def applies_to(self, task_type: str) -> bool:
        return not self.check.task_types or task_type in self.check.task_types

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.check.label,
            "description": self.check.description,
            "version": self.check.version,
            "enabled": self.enabled,
            "severity": self.severity,
            "options": self.options,
            "needs_config": self.check.needs_config,
            "live": self.check.cheap,
            "task_types": list(self.check.task_types),
        }


def default_config(check: Check) -> ConfiguredCheck:
    """``check`` as a new project has it: on unless it needs configuration first."""
    return ConfiguredCheck(check, not check.needs_config, check.default_severity, check.defaults())


def project_checks(project: Project | int) -> list[ConfiguredCheck]:
    """Every registered check as ``project`` configured it (one query). A check added to
    the registry after the project was made appears with its defaults, switched off
    when it needs configuration."""
    project_id = project if isinstance(project, int) else project.pk
    rows = {c.name: c for c in CheckConfig.objects.filter(project_id=project_id)}
    out = []
    for check in REGISTRY.values():
        row = rows.get(check.name)
        if row is None:
            out.append(default_config(check))
            continue
        stored = row.options if isinstance(row.options, dict) else {}
        options = {**check.defaults(), **{k: v for k, v in stored.items() if k in check.defaults()}}
        out.append(ConfiguredCheck(check, row.enabled, row.severity, options))
    return out


def enabled_checks(project: Project) -> list[ConfiguredCheck]:
    """The checks that run on the project's items: switched on and meant for its task type."""
    return [c for c in project_checks(project) if c.enabled and c.applies_to(project.task_type)]


def _bad(check: Check, option: Option, problem: str) -> ValidationError:
    return ValidationError(BAD_OPTION.format(name=check.name, option=option.name, problem=problem))


def _clean_bool(check: Check, option: Option, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(check, option, "must be true or false")
    return value


def _clean_number(check: Check, option: Option, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _bad(check, option, "must be a number")
    try:
        number: int | float = int(value) if option.kind == "int" else float(value)
    except (TypeError, ValueError):
        raise _bad(check, option, "must be a number") from None
    if option.kind == "int" and isinstance(value, float) and not value.is_integer():
        raise _bad(check, option, "must be a whole number")
    if option.minimum is not None and number < option.minimum:
        raise _bad(check, option, f"must be at least {option.minimum:g}")
    if option.maximum is not None and number > option.maximum:
        raise _bad(check, option, f"must be at most {option.maximum:g}")
    return number


def _clean_list(check: Check, option: Option, value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()  # a textarea: one entry a line
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(check, option, "must be a list of texts")
    cleaned = [v.strip() for v in value if v.strip()]
    if len(cleaned) > 500:
        raise _bad(check, option, "may hold at most 500 entries")
    return cleaned


# Inputs that make a backtracking pattern blow up; a pattern that cannot finish on
# them within the check's budget is refused before it is saved.
_REGEX_PROBES = ("a" * 40 + "!", "x" * 40, "1" * 40 + "a", " " * 40 + "x", "ab" * 20 + "!")


def _regex_problem(value: str) -> str:
    try:
        pattern = compile_rule(value)
    except regex.error as exc:
        return f"is not a valid regular expression ({exc})"
    for probe in _REGEX_PROBES:
        try:
            pattern.search(probe, timeout=REGEX_BUDGET)
        except TimeoutError:
            return (
                "backtracks too much to run safely (it took over "
                f"{REGEX_BUDGET:g} s on {len(probe)} characters); nested repetition "
                "such as (a|aa)+ is the usual cause"
            )
    return ""


def _language_problem(value: str) -> str:
    # language_name answers the code itself when it does not know it.
    return "must be an ISO 639-1 code such as en, fr or de" if language_name(value) == value else ""


# What a non-empty text option of one check must also be: (check, option) -> problem or "".
TEXT_RULES: dict[tuple[str, str], Callable[[str], str]] = {
    ("regex", "pattern"): _regex_problem,
    ("language", "language"): _language_problem,
}


def _clean_text(check: Check, option: Option, value: Any) -> str:
    if not isinstance(value, str):
        raise _bad(check, option, "must be text")
    if option.kind == "choice" and value not in option.choices:
        raise _bad(check, option, "must be one of " + ", ".join(option.choices))
    if len(value) > 2000:
        raise _bad(check, option, "is too long")
    rule = TEXT_RULES.get((check.name, option.name))
    problem = rule(value) if rule is not None and value else ""
    if problem:
        raise _bad(check, option, problem)
    # A required prefix may end in a space or a newline on purpose.
    return value.strip() if option.name != "prefix" else value


# Per option kind; every other kind (text, choice) is text.
CLEANERS: dict[str, Callable[[Check, Option, Any], Any]] = {
    "bool": _clean_bool,
    "int": _clean_number,
    "float": _clean_number,
    "list": _clean_list,
}


def _clean_option(check: Check, option: Option, value: Any) -> Any:
    clean = CLEANERS.get(option.kind) or _clean_text
    return clean(check, option, value)


def _clean_change(current: ConfiguredCheck, change: Any) -> ConfiguredCheck:
    name = current.name
    if not isinstance(change, Mapping):
        raise ValidationError(BAD_CHANGES)
    enabled, severity, options = current.enabled, current.severity, dict(current.options)
    if "enabled" in change:
        if not isinstance(change["enabled"], bool):
            raise ValidationError(BAD_ENABLED.format(name=name))
        enabled = change["enabled"]
    if "severity" in change:
        if change["severity"] not in Severity.values:
            raise ValidationError(BAD_SEVERITY.format(name=name))
        severity = change["severity"]
    if "options" in change:
        if not isinstance(change["options"], Mapping):
            raise ValidationError(
                BAD_OPTION.format(name=name, option="options", problem="must be an object")
            )
        known = {o.name: o for o in current.check.options}
        for key, value in change["options"].items():
            if key not in known:
                raise ValidationError(UNKNOWN_OPTION.format(name=name, option=key))
            options[key] = _clean_option(current.check, known[key], value)
    required = REQUIRED_SETTING.get(name)
    if enabled and required and not options.get(required):
        raise ValidationError(NEEDS_SETTING.format(name=name, option=required))
    return ConfiguredCheck(current.check, enabled, severity, options)


def update_checks(*, project: Project, changes: Any) -> list[ConfiguredCheck]:
    """Apply ``{name: {enabled?, severity?, options?}}`` (or a list of such objects with
    a ``name``) to the project's checks. All or nothing: one bad value and nothing is
    saved."""
    if isinstance(changes, list):
        changes = {
            str(entry.get("name")): {k: v for k, v in entry.items() if k != "name"}
            for entry in changes
            if isinstance(entry, Mapping)
        }
    if not isinstance(changes, Mapping) or not changes:
        raise ValidationError(BAD_CHANGES)
    current = {c.name: c for c in project_checks(project)}
    cleaned = []
    for name, change in changes.items():
        if name not in current:
            raise ValidationError(UNKNOWN_CHECK.format(name=name))
        cleaned.append(_clean_change(current[name], change))
    with transaction.atomic():
        for c in cleaned:
            CheckConfig.objects.update_or_create(
                project=project,
                name=c.name,
                defaults={"enabled": c.enabled, "severity": c.severity, "options": c.options},
            )
            current[c.name] = c
    return list(current.values())
