"""Writes to an item's content and fate: autosave, submit, skip, flag, and the project
admin's reopen and unflag. Every state change goes through :func:`transition`.

Claiming and leases live in :mod:`annotation.leases`, queues in :mod:`annotation.queues`
and the state move in :mod:`annotation.transitions`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.leases import (
    AcknowledgeFirst,
    NotHolder,
    WorkError,
    give_up,
    holding,
    lease_end,
    locked_assignment,
)
from annotation.messages import validate
from annotation.models import Assignment, AssignmentStatus, Item, Revision, RevisionKind
from annotation.selectors import guideline_changes
from annotation.states import State
from annotation.transitions import transition
from core.enqueue import CHECK_SUBMISSION, enqueue
from projects.models import DEFAULT_FLAG_CATEGORIES, DEFAULT_SKIP_REASONS, Project, flag_label
from projects.services import current_guideline

STALE_DRAFT = (
    "This item was saved from another tab or device since you loaded it. Choose which text to keep."
)
ACK_BEFORE_SUBMIT = (
    "The guidelines changed while you held this item (now version {version}). Read what "
    "changed and acknowledge it, then submit: your text is kept."
)
NOT_OPEN = "This item is no longer open for annotation (it is {state})."
SKIP_REASON_NEEDED = "Say why you are skipping this item."
SKIP_REWORK = "A returned item is yours to rework; flag it if it cannot be answered as asked."
FLAG_CATEGORY = "Flag as one of: {choices}."
REOPEN_REASON_NEEDED = "Say why you are reopening this item."
UNFLAG_REASON_NEEDED = "Say why this item should go back to the queue."
NOT_APPROVED = "Only an approved item can be reopened; this one is {state}."
NOT_FLAGGED = "Only a flagged item can be unflagged; this one is {state}."
NO_ANSWER = "This item has no answer to check again."
MOVED_FIRST = "Someone else changed this item first; it is now {state}. Reload it and try again."

SKIP_REASON_UNKNOWN = "Skip with one of this project's reasons: {choices}."


def flag_choices(project: Project) -> dict[str, str]:
    """The project's flag categories, each with the words the editor shows for it."""
    return {c: flag_label(c) for c in project.flag_categories or DEFAULT_FLAG_CATEGORIES}


def skip_choices(project: Project) -> list[str]:
    return list(project.skip_reasons or DEFAULT_SKIP_REASONS)


def skip_reason(project: Project, reason: str, note: str = "") -> str:
    """The reason to record for a skip: one of the project's reasons (matched ignoring
    case) with the annotator's note, or, when the project offers "Other", the
    annotator's own words. A ``ValidationError`` listing the reasons otherwise."""
    reason, note = (reason or "").strip(), (note or "").strip()
    if not reason:
        raise ValidationError({"reason": SKIP_REASON_NEEDED})
    choices = skip_choices(project)
    listed = {c.casefold(): c for c in choices}
    if reason.casefold() in listed:
        reason = listed[reason.casefold()]
    elif "other" not in listed:
        raise ValidationError(
            {"reason": SKIP_REASON_UNKNOWN.format(choices=", ".join(map(repr, choices)))}
        )
    return " — ".join(p for p in (reason, note) if p)


class StaleDraft(WorkError):
    pass


class ItemMoved(WorkError):
    """The item is not (or no longer) in the state the admin's action starts from."""


def _stale(assignment: Assignment, base_revision: int | None) -> bool:
    """Whether ``base_revision`` names an older version of the caller's draft than the
    stored one. ``None`` (a client that sends no token) is never stale."""
    return base_revision is not None and int(base_revision) != assignment.draft_version


def add_active_time(assignment: Assignment, seconds: int | None, now: Any) -> list[str]:
    """Add ``seconds`` of active editing to ``assignment`` (locked), at most the time
    since it was last counted (or since the lease began), so a client cannot claim
    more time than has passed. Returns the fields to save."""
    since = assignment.active_counted_at or assignment.leased_at
    room = max(0, int((now - since).total_seconds()) + 1) if since else 0
    add = max(0, min(int(seconds or 0), room))
    if add:
        assignment.active_seconds += add
    assignment.active_counted_at = now
    return ["active_seconds", "active_counted_at"]


def save_draft(
    *,
    item: Item,
    user: Any,
    messages: Any,
    base_revision: int | None,
    active_seconds: int | None = None,
) -> Assignment:
    """Autosave: store ``messages`` as the caller's draft and renew their lease.

    ``base_revision`` is the version token the caller was last given: ``revision`` from
    ``GET /items/{id}/`` or ``next/``, or from the previous save's answer (see
    :func:`annotation.selectors.version_token`; the older ``base_revision`` field of
    those answers is the same number, so clients that echo it keep working). When
    another tab or device saved a different text since, :class:`StaleDraft` carries
    the stored text and the current token so the person chooses. Text equal to the
    stored draft is never a conflict, whatever its token (a reload whose last
    keep-alive save landed late, a retry): it succeeds and answers the current token.
    ``active_seconds`` is the editing time since the previous save (see
    :func:`add_active_time`). Takes the assignment's row lock.
    """
    cleaned = validate(messages, complete=False)
    now = timezone.now()
    with transaction.atomic():
        assignment = holding(item, user, cleaned)
        if cleaned != assignment.draft:
            if _stale(assignment, base_revision):
                raise StaleDraft(
                    STALE_DRAFT,
                    messages=assignment.draft,
                    revision=assignment.draft_version,
                    base_revision=assignment.draft_version,
                    saved_at=assignment.draft_saved_at.isoformat()
                    if assignment.draft_saved_at
                    else None,
                )
            assignment.draft = cleaned
            assignment.draft_version += 1
            assignment.draft_saved_at = now
        assignment.expires_at = lease_end(item.project, now)
        timed = add_active_time(assignment, active_seconds, now)
        assignment.save(
            update_fields=["draft", "draft_version", "draft_saved_at", "expires_at", *timed]
        )
    return assignment


def submit(
    *,
    item: Item,
    user: Any,
    messages: Any,
    base_revision: int | None,
    active_seconds: int | None = None,
) -> tuple[Revision, bool]:
    """Submit the caller's answer; returns the submission and whether it is new.

    ``base_revision`` is the version token, as for :func:`save_draft`: stale only when
    another tab or device saved a text different from ``messages`` since.

    Refused (:class:`AcknowledgeFirst`, with what changed) while the project's current
    guideline version is unacknowledged by the caller: a version published while they
    held the item is read before the answer written under it is submitted.

    Idempotent: repeating a submit that already succeeded (same text) returns the same
    revision, so a retry after a lost response never makes a second one. Creates one
    submission revision per annotator; when the item has all ``overlap`` submissions
    (or is rework) it moves to ``submitted`` and the checks are enqueued on commit.
    Takes the assignment's and the item's row locks.
    """
    cleaned = validate(messages, complete=True)
    now = timezone.now()
    project = item.project
    with transaction.atomic():
        assignment = locked_assignment(item, user)
        if (
            assignment is not None
            and assignment.status == AssignmentStatus.SUBMITTED
            and assignment.submission is not None
            and assignment.submission.messages == cleaned
        ):
            return assignment.submission, False
        changed = guideline_changes(project, user)
        if changed is not None:
            raise AcknowledgeFirst(
                ACK_BEFORE_SUBMIT.format(version=changed["version"]),
                guideline_version=changed["version"],
                guideline=changed,
                messages=cleaned,
            )
        assignment = holding(item, user, cleaned)
        if cleaned != assignment.draft and _stale(assignment, base_revision):
            raise StaleDraft(
                STALE_DRAFT,
                messages=assignment.draft,
                revision=assignment.draft_version,
                base_revision=assignment.draft_version,
                current_revision=item.current_revision_id,
                saved_at=assignment.draft_saved_at.isoformat()
                if assignment.draft_saved_at
                else None,
            )
        locked = Item.objects.select_for_update().get(pk=item.pk)
        if locked.state not in (State.IN_PROGRESS, State.RETURNED):
            raise NotHolder(NOT_OPEN.format(state=locked.get_state_display().lower()))
        revision = Revision.objects.create(
            item=locked,
            messages=cleaned,
            kind=RevisionKind.SUBMISSION,
            author=user,
            base=locked.current_revision,
            guideline=current_guideline(project),
            created_at=now,
        )
        assignment.status = AssignmentStatus.SUBMITTED
        assignment.submission = revision
        assignment.draft = cleaned
        assignment.draft_version += 1
        assignment.draft_saved_at = assignment.finished_at = now
        timed = add_active_time(assignment, active_seconds, now)
        assignment.save(
            update_fields=[
                "status",
                "submission",
                "draft",
                "draft_version",
                "draft_saved_at",
                "finished_at",
                *timed,
            ]
        )
        if locked.state == State.RETURNED:
            transition(
                locked,
                to=State.SUBMITTED,
                actor=user,
                reason="Reworked and resubmitted.",
                current_revision=revision,
            )
        elif locked.is_gold:
            # Gold answers are recorded for scoring; the item itself stays available.
            if not Assignment.objects.filter(item=locked, status=AssignmentStatus.ACTIVE).exists():
                transition(locked, to=State.QUEUED, actor=user, reason="Gold answer recorded.")
        else:
            done = Assignment.objects.filter(item=locked, status=AssignmentStatus.SUBMITTED).count()
            if done >= project.overlap:
                transition(
                    locked,
                    to=State.SUBMITTED,
                    actor=user,
                    reason="All answers submitted.",
                    current_revision=revision,
                )
            else:
                Item.objects.filter(pk=locked.pk).update(current_revision=revision)
        item.state, item.current_revision = locked.state, revision
        enqueue(CHECK_SUBMISSION, revision.pk)  # gold score, checks, then routing
    return revision, True


def skip(*, item: Item, user: Any, reason: str, note: str = "") -> Assignment:
    """Give the item back with a reason (see :func:`skip_reason`) and an optional note;
    the caller will not be handed it again."""
    reason = skip_reason(item.project, reason, note)
    with transaction.atomic():
        assignment = holding(item, user, [])
        if assignment.is_rework:
            raise ValidationError({"reason": SKIP_REWORK})
        give_up(
            item,
            assignment,
            status=AssignmentStatus.SKIPPED,
            actor=user,
            reason="Skipped: " + reason,
        )
    return assignment


def flag(*, item: Item, user: Any, category: str, note: str = "") -> Assignment:
    """Take the item out of the dataset as one of the project's flag categories
    (by default unsafe, unanswerable or a duplicate prompt)."""
    choices = flag_choices(item.project)
    if category not in choices:
        raise ValidationError(
            {"category": FLAG_CATEGORY.format(choices=", ".join(map(repr, choices)))}
        )
    with transaction.atomic():
        assignment = holding(item, user, [])
        locked = Item.objects.select_for_update().get(pk=item.pk)
        text = f"{choices[category]}" + (f": {note.strip()}" if note.strip() else "")
        assignment.status = AssignmentStatus.FLAGGED
        assignment.reason = text
        assignment.finished_at = timezone.now()
        assignment.save(update_fields=["status", "reason", "finished_at"])
        transition(
            locked,
            to=State.FLAGGED,
            actor=user,
            reason=text,
            data={"category": category, "note": note.strip()},
        )
        item.state = locked.state
    return assignment


# The project admin's second thoughts ------------------------------------------------------


def _reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    return reason


def _moved_first(item: Item) -> ItemMoved:
    item.refresh_from_db(fields=["state", "stage"])
    return ItemMoved(MOVED_FIRST.format(state=item.get_state_display().lower()), state=item.state)


def reopen(*, item: Item, actor: Any, reason: str) -> Item:
    """Send an approved item back to checks and review with the admin's ``reason``.

    The item becomes ``submitted`` (review starts again at the first stage) and the
    check task is enqueued on commit for its current revision; the checks then return
    it to its annotator or route it into review. The caller has checked that ``actor``
    administers the project. Compare-and-set on the item's state: :class:`ItemMoved`
    when it is not approved or someone else moved it first.
    """
    reason = _reason(reason, REOPEN_REASON_NEEDED)
    if item.state != State.APPROVED:
        raise ItemMoved(NOT_APPROVED.format(state=item.get_state_display().lower()))
    if item.current_revision_id is None:
        raise ItemMoved(NO_ANSWER)
    with transaction.atomic():
        moved = transition(
            item,
            to=State.SUBMITTED,
            actor=actor,
            reason=reason,
            stage=None,
            data={"revision": item.current_revision_id},
        )
        if not moved:
            raise _moved_first(item)
        enqueue(CHECK_SUBMISSION, item.current_revision_id)
    return item


def unflag(*, item: Item, actor: Any, reason: str) -> Item:
    """Put a flagged item back in its queue with the admin's ``reason``, to be worked
    again from the start.

    Its earlier turns (the flagger's, and any other annotator's lease or submission)
    are removed and its places freed, so every annotator of the project, the flagger
    included, can be handed it again; the history keeps who flagged it and why, and
    earlier answers stay as revisions. The caller has checked that ``actor``
    administers the project. Compare-and-set on the item's state: :class:`ItemMoved`
    when it is not flagged or someone else moved it first.
    """
    reason = _reason(reason, UNFLAG_REASON_NEEDED)
    if item.state != State.FLAGGED:
        raise ItemMoved(NOT_FLAGGED.format(state=item.get_state_display().lower()))
    with transaction.atomic():
        turns = list(Assignment.objects.filter(item=item).values_list("user__username", "status"))
        moved = transition(
            item,
            to=State.QUEUED,
            actor=actor,
            reason=reason,
            stage=None,
            data={"assignments": [{"user": u, "status": st} for u, st in turns]},
            claims=0,
        )
        if not moved:
            raise _moved_first(item)
        Assignment.objects.filter(item=item).delete()
    return item
