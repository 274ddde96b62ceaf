"""Running the checks: on a submitted revision (stored, one result per check), on unsaved
messages while the annotator types (live), the duplicate index they consult, the redact
action, and reading stored results back.

Results are unique per (revision, check, version): running the checks again on the
same revision (a re-delivered task, the sweeper) reuses what is stored and changes
nothing. A re-check job (checks/recheck.py) is the one place that recomputes stored
results, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q

from annotation.messages import prompt_hash
from annotation.models import Item, Revision
from annotation.states import State
from checks.config import ConfiguredCheck, enabled_checks, project_checks
from checks.models import CheckResult, DuplicateBand, DuplicateEntry, Outcome, Severity
from checks.registry import REGISTRY, CheckContext, Duplicate
from checks.registry import duplicates as dup
from checks.registry.pii import redact_messages
from core.text import loads_json
from projects.models import Project

BAD_MESSAGES = "The messages could not be read: send a JSON list of {role, content} objects."

NEAR_CANDIDATES = 20
ANSWER_CHECKS = {"duplicate_answer"}
CORPUS_CHECKS = {"exact_duplicate", "near_duplicate", *ANSWER_CHECKS}


@dataclass
class LiveResult:
    """A result computed on the fly (while typing), shaped like a stored CheckResult."""

    name: str
    label: str
    outcome: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def context_for(item: Item, project: Project, duplicates: Sequence[Duplicate] = ()) -> CheckContext:
    return CheckContext(
        task_type=project.task_type,
        language=project.language,
        model_draft=item.model_draft if item is not None else "",
        duplicates=tuple(duplicates),
        project_id=project.pk,
        item_id=item.pk if item is not None else None,
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
            blocks = configured.severity == Severity.BLOCK and not verdict.undecided
            outcome = Outcome.FAIL if blocks else Outcome.WARN
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
    # The last answer alone, for copied answers (keys in the answer band namespace).
    answer_hash: str = ""
    answer_signature: bytes = b""
    answer_keys: list[int] = field(default_factory=list)


def fingerprint(item: Item, messages: list[dict[str, Any]]) -> Fingerprint:
    sig = dup.signature(dup.text_of(messages))
    answer_hash = dup.answer_hash(messages)
    answer_sig = dup.signature(dup.answer_of(messages)) if answer_hash else None
    return Fingerprint(
        dup.text_hash(messages),
        _prompt_hash_of(item, messages),
        sig.tobytes(),
        dup.band_keys(sig),
        answer_hash,
        answer_sig.tobytes() if answer_sig is not None else b"",
        dup.band_keys(answer_sig, namespace=dup.ANSWER_BANDS) if answer_sig is not None else [],
    )


def _other_prompt(fp: Fingerprint, prompt: str, text: str) -> bool:
    """Whether an indexed item with these hashes answers a different prompt than ``fp``
    (the same prompt or conversation is the exact-duplicate check's)."""
    return text != fp.text_hash and not (fp.prompt_hash and prompt == fp.prompt_hash)


def _answer_duplicates(
    *, project_id: int, item_id: int | None, messages: list[dict[str, Any]], fp: Fingerprint
) -> list[Duplicate]:
    """Other items of the project whose last answer is the same as this one's, or nearly,
    to a different prompt. At most four indexed queries."""
    if not fp.answer_hash:
        return []
    entries = DuplicateEntry.objects.filter(project_id=project_id).exclude(item_id=item_id or 0)
    found = {
        other: Duplicate(other, 1.0, exact=True, what="answer")
        for other, prompt, text in entries.filter(answer_hash=fp.answer_hash).values_list(
            "item_id", "prompt_hash", "text_hash"
        )[:10]
        if _other_prompt(fp, prompt, text)
    }
    candidates = list(
        DuplicateBand.objects.filter(project_id=project_id, key__in=fp.answer_keys)
        .exclude(item_id=item_id or 0)
        .values("item_id")
        .annotate(shared=Count("id"))
        .order_by("-shared", "item_id")
        .values_list("item_id", flat=True)[:NEAR_CANDIDATES]
    )
    close = {
        other: revision
        for other, revision, prompt, text, sig in entries.filter(
            item_id__in=[c for c in candidates if c not in found]
        ).values_list("item_id", "revision_id", "prompt_hash", "text_hash", "answer_signature")
        if _other_prompt(fp, prompt, text)
        and dup.similarity(fp.answer_signature, bytes(sig)) >= 0.5
    }
    if close:
        # The signature estimate picks the candidates; the exact Jaccard of the answers decides.
        texts = dict(Revision.objects.filter(pk__in=close.values()).values_list("pk", "messages"))
        own = dup.answer_of(messages)
        for other, revision in close.items():
            other_messages = texts.get(revision)
            if isinstance(other_messages, list):
                score = dup.jaccard(own, dup.answer_of(other_messages))
                found[other] = Duplicate(other, score, what="answer")
    return list(found.values())


def find_duplicates(
    *,
    project_id: int,
    item_id: int | None,
    messages: list[dict[str, Any]],
    fp: Fingerprint,
    near: bool = True,
    exact: bool = True,
    answers: bool = True,
    answer_min_chars: int = 0,
) -> list[Duplicate]:
    """Other items of the project with the same prompt, the same conversation, or nearly
    the same text (four indexed queries at most), and with ``answers`` those whose answer
    is a copy of this one's, when it has at least ``answer_min_chars`` characters (four
    more), whatever the size of the project."""
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
    copied = (
        _answer_duplicates(project_id=project_id, item_id=item_id, messages=messages, fp=fp)
        if answers and len(dup.answer_of(messages)) >= answer_min_chars
        else []
    )
    return sorted(
        [*found.values(), *near_found, *copied],
        key=lambda d: (not d.exact, -d.similarity, d.item_id),
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
            "answer_hash": fp.answer_hash,
            "answer_signature": fp.answer_signature,
        },
    )
    DuplicateBand.objects.bulk_create(
        [
            DuplicateBand(project_id=item.project_id, key=k, item_id=item.pk)
            for k in {*fp.keys, *fp.answer_keys}
        ]
    )


def compute_results(
    revision: Revision, item: Item, project: Project, checks: list[ConfiguredCheck]
) -> tuple[list[CheckResult], Fingerprint]:
    messages = revision.messages if isinstance(revision.messages, list) else []
    fp = fingerprint(item, messages)
    names = {c.name for c in checks}
    duplicates: list[Duplicate] = []
    if names & CORPUS_CHECKS:
        answer_check = next((c for c in checks if c.name in ANSWER_CHECKS), None)
        duplicates = find_duplicates(
            project_id=project.pk,
            item_id=item.pk,
            messages=messages,
            fp=fp,
            near="near_duplicate" in names,
            exact="exact_duplicate" in names,
            answers=answer_check is not None,
            answer_min_chars=int(answer_check.options["min_chars"]) if answer_check else 0,
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
    checks = enabled_checks(project)
    done = set(CheckResult.objects.filter(revision=revision).values_list("name", "version"))
    missing = [c for c in checks if (c.name, c.check.version) not in done]
    if missing:
        rows, fp = compute_results(revision, item, project, missing)
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
            messages = loads_json(messages)
        except ValueError:
            raise ValidationError(BAD_MESSAGES) from None
    if not isinstance(messages, list):
        raise ValidationError(BAD_MESSAGES)
    checks = [c for c in enabled_checks(project) if c.check.cheap]
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
