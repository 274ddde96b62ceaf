"""Automated checks as a service: each project's configuration, running the configured
checks on a revision, storing the results, the duplicate index, re-check jobs and the
sweeper that rescues submissions whose task was lost.

Results are unique per (revision, check, version): running the checks again on the
same revision (a re-delivered task, the sweeper) reuses what is stored and changes
nothing. A re-check job is the one place that recomputes stored results, on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotation.messages import prompt_hash
from annotation.models import Item, Revision
from annotation.states import State
from checks.models import CheckConfig, CheckResult, DuplicateBand, DuplicateEntry, Outcome, Severity
from checks.registry import REGISTRY, Check, CheckContext, Duplicate, Option
from checks.registry import duplicates as dup
from checks.registry.language import language_name
from checks.registry.pii import redact_messages
from core.enqueue import CHECK_SUBMISSION, enqueue
from core.models import JobStatus
from projects.models import Job, Project

UNKNOWN_CHECK = "There is no check called {name!r}."
BAD_SEVERITY = "{name}: severity must be “block” or “warn”."
BAD_ENABLED = "{name}: enabled must be true or false."
UNKNOWN_OPTION = "{name}: unknown option {option!r}."
BAD_OPTION = "{name}: {option} {problem}."
BAD_CHANGES = 'Send an object keyed by check name, e.g. {"pii": {"severity": "block"}}.'
NEEDS_SETTING = "{name}: set {option} before enabling this check."
NOTHING_TO_RECHECK = "Choose the items to re-check: a list of item ids or a state."
UNKNOWN_ITEMS = "These items are not in this project: {ids}."
TOO_MANY_ITEMS = "A re-check takes at most {limit} items at once."
BAD_MESSAGES = "The messages could not be read: send a JSON list of {role, content} objects."

RECHECK_LIMIT = 100_000
STUCK_AFTER = timedelta(minutes=2)
NEAR_CANDIDATES = 20
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


@dataclass
class LiveResult:
    """A result computed on the fly (while typing), shaped like a stored CheckResult."""

    name: str
    label: str
    outcome: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


# --- configuration --------------------------------------------------------------------


def _default(check: Check) -> ConfiguredCheck:
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
            out.append(_default(check))
            continue
        stored = row.options if isinstance(row.options, dict) else {}
        options = {**check.defaults(), **{k: v for k, v in stored.items() if k in check.defaults()}}
        out.append(ConfiguredCheck(check, row.enabled, row.severity, options))
    return out


def _clean_option(check: Check, option: Option, value: Any) -> Any:
    def bad(problem: str) -> ValidationError:
        return ValidationError(
            BAD_OPTION.format(name=check.name, option=option.name, problem=problem)
        )

    if option.kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if option.kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad("must be a number")
        try:
            number: int | float = int(value) if option.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise bad("must be a number") from None
        if option.kind == "int" and isinstance(value, float) and not value.is_integer():
            raise bad("must be a whole number")
        if option.minimum is not None and number < option.minimum:
            raise bad(f"must be at least {option.minimum:g}")
        if option.maximum is not None and number > option.maximum:
            raise bad(f"must be at most {option.maximum:g}")
        return number
    if option.kind == "list":
        if isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("must be a list of texts")
        cleaned = [v.strip() for v in value if v.strip()]
        if len(cleaned) > 500:
            raise bad("may hold at most 500 entries")
        return cleaned
    if not isinstance(value, str):
        raise bad("must be text")
    if option.kind == "choice" and value not in option.choices:
        raise bad("must be one of " + ", ".join(option.choices))
    if len(value) > 2000:
        raise bad("is too long")
    if check.name == "regex" and option.name == "pattern" and value:
        try:
            re.compile(value)
        except re.error as exc:
            raise bad(f"is not a valid regular expression ({exc})") from None
    if (
        check.name == "language"
        and option.name == "language"
        and value
        and language_name(value) == value
    ):
        raise bad("must be an ISO 639-1 code such as en, fr or de")
    return value.strip() if option.name != "prefix" else value


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


# --- running checks -------------------------------------------------------------------


def context_for(item: Item, project: Project, duplicates: Sequence[Duplicate] = ()) -> CheckContext:
    return CheckContext(
        task_type=project.task_type,
        language=project.language,
        model_draft=item.model_draft if item is not None else "",
        duplicates=tuple(duplicates),
    )


def evaluate(
    checks: Iterable[ConfiguredCheck], messages: Any, context: CheckContext
) -> list[LiveResult]:
    """Run ``checks`` (pure: no database) and turn each verdict into pass / warn / fail by
    the project's severity."""
    results = []
    for configured in checks:
        check = configured.check
        try:
            verdict = check.run(messages, context, configured.options)
        except Exception as exc:  # a check's bug must not lose the submission
            results.append(
                LiveResult(
                    check.name,
                    check.label,
                    Outcome.WARN,
                    configured.severity,
                    f"This check could not run ({type(exc).__name__}).",
                    {"error": str(exc)[:200]},
                )
            )
            continue
        if not verdict.failed:
            outcome = Outcome.PASS
        else:
            outcome = Outcome.FAIL if configured.severity == Severity.BLOCK else Outcome.WARN
        results.append(
            LiveResult(
                check.name,
                check.label,
                outcome,
                configured.severity,
                verdict.message,
                verdict.details,
            )
        )
    return results


def _prompt_hash_of(item: Item, messages: list[dict[str, Any]]) -> str:
    if item.prompt_hash:
        return item.prompt_hash
    prompt = item.source or [m for m in messages[:-1] if isinstance(m, dict)]
    try:
        return prompt_hash(prompt) if prompt else ""
    except (KeyError, TypeError):
        return ""


@dataclass(frozen=True)
class Fingerprint:
    text_hash: str
    prompt_hash: str
    signature: bytes
    keys: list[int]


def fingerprint(item: Item, messages: list[dict[str, Any]]) -> Fingerprint:
    sig = dup.signature(dup.text_of(messages))
    return Fingerprint(
        dup.text_hash(messages), _prompt_hash_of(item, messages), sig.tobytes(), dup.band_keys(sig)
    )


def find_duplicates(
    *,
    project_id: int,
    item_id: int | None,
    messages: list[dict[str, Any]],
    fp: Fingerprint,
    near: bool = True,
    exact: bool = True,
) -> list[Duplicate]:
    """Other items of the project with the same prompt, the same conversation, or nearly
    the same text. At most four indexed queries, whatever the size of the project."""
    found: dict[int, Duplicate] = {}
    near_found: list[Duplicate] = []
    others = Item.objects.filter(project_id=project_id).exclude(pk=item_id or 0)
    if exact:
        if fp.prompt_hash:
            # Item.prompt_hash covers every imported item, checked or not.
            for other in (
                others.filter(prompt_hash=fp.prompt_hash)
                .exclude(prompt_hash="")  # the hash index's condition, for any plan
                .exclude(state=State.FLAGGED)
                .values_list("pk", flat=True)[:10]
            ):
                found[other] = Duplicate(other, 1.0, exact=True, what="prompt")
        # The index covers checked items whose prompt hash was never set (typed prompts).
        match = (
            Q(text_hash=fp.text_hash) | Q(prompt_hash=fp.prompt_hash)
            if fp.prompt_hash
            else Q(text_hash=fp.text_hash)
        )
        same = DuplicateEntry.objects.filter(match, project_id=project_id).exclude(
            item_id=item_id or 0
        )
        for other, text_hash in same.values_list("item_id", "text_hash")[:20]:
            if text_hash == fp.text_hash:
                found[other] = Duplicate(other, 1.0, exact=True, what="pair")
            else:
                found.setdefault(other, Duplicate(other, 1.0, exact=True, what="prompt"))
    if near:
        candidates = list(
            DuplicateBand.objects.filter(project_id=project_id, key__in=fp.keys)
            .exclude(item_id=item_id or 0)
            .values("item_id")
            .annotate(shared=Count("id"))
            .order_by("-shared", "item_id")
            .values_list("item_id", flat=True)[:NEAR_CANDIDATES]
        )
        if candidates:
            entries = list(
                DuplicateEntry.objects.filter(item_id__in=candidates).values_list(
                    "item_id", "revision_id", "signature"
                )
            )
            estimated = {
                i: (rev, dup.similarity(fp.signature, bytes(sig))) for i, rev, sig in entries
            }
            # The signature estimate picks the candidates; the exact Jaccard of the texts decides.
            close = {i: v for i, v in estimated.items() if v[1] >= 0.5}
            texts = dict(
                Revision.objects.filter(pk__in=[rev for rev, _ in close.values()]).values_list(
                    "pk", "messages"
                )
            )
            own = dup.text_of(messages)
            for other, (rev, estimate) in close.items():
                other_messages = texts.get(rev)
                score = (
                    dup.jaccard(own, dup.text_of(other_messages)) if other_messages else estimate
                )
                if not (other in found and found[other].what == "pair"):
                    near_found.append(Duplicate(other, score))
    return sorted(
        [*found.values(), *near_found], key=lambda d: (not d.exact, -d.similarity, d.item_id)
    )


def index_item(item: Item, revision: Revision, fp: Fingerprint) -> None:
    """Make ``revision`` the item's entry in the duplicate index (replacing the old one).
    Call inside a transaction that holds the item's row lock."""
    DuplicateBand.objects.filter(item_id=item.pk).delete()
    DuplicateEntry.objects.update_or_create(
        item_id=item.pk,
        defaults={
            "project_id": item.project_id,
            "revision_id": revision.pk,
            "text_hash": fp.text_hash,
            "prompt_hash": fp.prompt_hash,
            "signature": fp.signature,
        },
    )
    DuplicateBand.objects.bulk_create(
        [DuplicateBand(project_id=item.project_id, key=k, item_id=item.pk) for k in set(fp.keys)]
    )


def _compute(
    revision: Revision, item: Item, project: Project, checks: list[ConfiguredCheck]
) -> tuple[list[CheckResult], Fingerprint]:
    messages = revision.messages if isinstance(revision.messages, list) else []
    fp = fingerprint(item, messages)
    names = {c.name for c in checks}
    duplicates: list[Duplicate] = []
    if names & {"exact_duplicate", "near_duplicate"}:
        duplicates = find_duplicates(
            project_id=project.pk,
            item_id=item.pk,
            messages=messages,
            fp=fp,
            near="near_duplicate" in names,
            exact="exact_duplicate" in names,
        )
    results = evaluate(checks, messages, context_for(item, project, duplicates))
    rows = [
        CheckResult(
            revision=revision,
            name=r.name,
            version=REGISTRY[r.name].version,
            outcome=r.outcome,
            severity=r.severity,
            message=r.message,
            details=r.details,
        )
        for r in results
    ]
    return rows, fp


def _configured_for(project: Project) -> list[ConfiguredCheck]:
    return [c for c in project_checks(project) if c.enabled and c.applies_to(project.task_type)]


def _blocking(revision: Revision, checks: list[ConfiguredCheck]) -> list[str]:
    wanted = {(c.name, c.check.version) for c in checks}
    return [
        r.message
        for r in CheckResult.objects.filter(revision=revision, outcome=Outcome.FAIL).order_by(
            "name"
        )
        if (r.name, r.version) in wanted
    ]


@dataclass(frozen=True)
class Checked:
    """A revision after its checks: the messages of the blocking checks that failed."""

    item: Item
    revision: Revision
    blocking_failures: list[str]


def run_checks_for_revision(revision_id: int) -> Checked | None:
    """Run the project's checks on the revision and store one result per check; None when
    the revision is gone. Idempotent: results are unique per (revision, check, version),
    and a check already stored for this revision is not run again. Routing the item on
    is the caller's (reviews' check task)."""
    revision = Revision.objects.select_related("item__project").filter(pk=revision_id).first()
    if revision is None:
        return None  # deleted with its item: nothing left to check
    item = revision.item
    project = item.project
    checks = _configured_for(project)
    done = set(CheckResult.objects.filter(revision=revision).values_list("name", "version"))
    missing = [c for c in checks if (c.name, c.check.version) not in done]
    if missing:
        rows, fp = _compute(revision, item, project, missing)
        with transaction.atomic():
            current = (
                Item.objects.select_for_update()
                .filter(pk=item.pk)
                .values_list("current_revision_id", flat=True)
                .first()
            )
            CheckResult.objects.bulk_create(rows, ignore_conflicts=True)
            if current == revision.pk:
                index_item(item, revision, fp)
    item.refresh_from_db(fields=["state", "stage", "current_revision"])
    return Checked(item, revision, _blocking(revision, checks))


def live_results(*, project: Project, messages: Any, item: Item | None = None) -> list[LiveResult]:
    """The project's cheap checks on unsaved ``messages`` (while the annotator types): the
    same functions as the worker, without the corpus checks."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError:
            raise ValidationError(BAD_MESSAGES) from None
    if not isinstance(messages, list):
        raise ValidationError(BAD_MESSAGES)
    checks = [c for c in _configured_for(project) if c.check.cheap]
    context = CheckContext(
        task_type=project.task_type,
        language=project.language,
        model_draft=item.model_draft if item is not None else "",
    )
    return evaluate(checks, messages, context)


def redact(*, project: Project, messages: Any) -> list[dict[str, Any]]:
    """``messages`` with personal data replaced by typed placeholders ([EMAIL], [PHONE]…),
    using the project's PII settings."""
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValidationError(BAD_MESSAGES)
    options = next(c.options for c in project_checks(project) if c.name == "pii")
    return redact_messages(messages, options)


def current_results(item: Item) -> list[CheckResult]:
    """The stored results of the item's current revision, by check name (one query)."""
    if item.current_revision_id is None:
        return []
    return list(CheckResult.objects.filter(revision_id=item.current_revision_id).order_by("name"))


def result_row(result: CheckResult) -> dict[str, Any]:
    """One result as ``GET /api/v1/items/{id}/`` lists it."""
    return {"name": result.name, "outcome": result.outcome, "message": result.message}


def results_for(revision_ids: Iterable[int]) -> dict[int, list[CheckResult]]:
    """Stored results of each revision, newest check version only (one query)."""
    out: dict[int, dict[str, CheckResult]] = {}
    for r in CheckResult.objects.filter(revision_id__in=list(revision_ids)).order_by(
        "name", "version"
    ):
        out.setdefault(r.revision_id, {})[r.name] = r
    return {rev: list(by_name.values()) for rev, by_name in out.items()}


# --- re-checks and the sweeper --------------------------------------------------------


def start_recheck(
    *,
    project: Project,
    actor: User | AnonymousUser | None,
    item_ids: Sequence[Any] | None = None,
    state: str | None = None,
) -> Job:
    """Queue a background job that re-runs the project's checks on the chosen items'
    current revisions (by id, or every item in ``state``)."""
    items = Item.objects.filter(project=project, current_revision__isnull=False)
    if item_ids:
        try:
            ids = sorted({int(i) for i in item_ids})
        except (TypeError, ValueError):
            raise ValidationError({"items": NOTHING_TO_RECHECK}) from None
        if len(ids) > RECHECK_LIMIT:
            raise ValidationError({"items": TOO_MANY_ITEMS.format(limit=RECHECK_LIMIT)})
        known = set(Item.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValidationError(
                {"items": UNKNOWN_ITEMS.format(ids=", ".join(map(str, unknown[:10])))}
            )
        items = items.filter(pk__in=ids)
    elif state:
        if state not in State.values:
            raise ValidationError({"state": f"State must be one of {', '.join(State.values)}."})
        items = items.filter(state=state)
    else:
        raise ValidationError(NOTHING_TO_RECHECK)
    chosen = list(items.order_by("pk").values_list("pk", flat=True)[: RECHECK_LIMIT + 1])
    if len(chosen) > RECHECK_LIMIT:
        raise ValidationError({"items": TOO_MANY_ITEMS.format(limit=RECHECK_LIMIT)})
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind="recheck",
            created_by=actor if isinstance(actor, User) else None,
            total=len(chosen),
            params={"items": chosen, "state": state or ""},
        )
        enqueue("checks.run_recheck", job.pk)
    return job


def run_recheck_job(job_id: int) -> None:
    """Re-run the checks on each item of the job and replace their stored results. Items
    still waiting in ``submitted`` are routed as after a first run; others keep their
    place and show the new results. Safe to run again: it resumes from ``progress``."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        return
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=job.started_at or timezone.now()
    )
    project = job.project
    checks = _configured_for(project)
    ids = list(job.params.get("items") or [])
    counts = dict(job.result or {})
    errors = list(job.errors or [])
    for position in range(job.progress, len(ids)):
        item = (
            Item.objects.select_related("current_revision")
            .filter(pk=ids[position], project=project)
            .first()
        )
        if item is not None and item.current_revision is not None:
            revision = item.current_revision
            rows, fp = _compute(revision, item, project, checks)
            with transaction.atomic():
                Item.objects.select_for_update().filter(pk=item.pk).first()
                CheckResult.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["revision", "name", "version"],
                    update_fields=["outcome", "severity", "message", "details", "created_at"],
                )
                # Results of checks the project has since switched off no longer apply.
                CheckResult.objects.filter(revision=revision).exclude(
                    name__in=[r.name for r in rows]
                ).delete()
                index_item(item, revision, fp)
            worst = (
                "fail"
                if any(r.outcome == Outcome.FAIL for r in rows)
                else ("warn" if any(r.outcome == Outcome.WARN for r in rows) else "pass")
            )
            counts[worst] = counts.get(worst, 0) + 1
            if item.state == State.SUBMITTED:
                # Still waiting for its first routing: the check task finds the results
                # stored and routes it as after a first run.
                enqueue(CHECK_SUBMISSION, revision.pk)
        else:
            errors.append({"item": ids[position], "message": "The item has no answer to check."})
        if (position + 1) % 50 == 0 or position + 1 == len(ids):
            Job.objects.filter(pk=job.pk).update(
                progress=position + 1, result=counts, errors=errors[-100:]
            )
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        progress=len(ids),
        result=counts,
        errors=errors[-100:],
        finished_at=timezone.now(),
    )


def sweep_stuck_submissions(*, older_than: timedelta = STUCK_AFTER, limit: int = 500) -> int:
    """Enqueue the checks again for items that have waited in ``submitted`` longer than
    ``older_than`` (their task was lost: broker restart, worker killed). Returns how
    many were re-enqueued. Re-running is harmless: results are idempotent."""
    cutoff = timezone.now() - older_than
    stuck = list(
        Item.objects.filter(
            state=State.SUBMITTED, state_changed_at__lt=cutoff, current_revision__isnull=False
        )
        .order_by("state_changed_at")
        .values_list("current_revision_id", flat=True)[:limit]
    )
    sent = 0
    for revision_id in stuck:
        # Once per window per revision, so a long backlog is not multiplied.
        if cache.add(f"checks:swept:{revision_id}", 1, timeout=int(older_than.total_seconds())):
            enqueue(CHECK_SUBMISSION, revision_id)
            sent += 1
    return sent
