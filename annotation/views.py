"""The annotator's pages: start working, the editor, "My work"; and the admin's queues.

Every form posts to a plain URL, so the loop works without JavaScript; the editor's
script (static/js/editor.js) adds autosave, live checks and shortcuts through the API.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotation import leases, selectors, services
from annotation.anchoring import draft_hidden
from annotation.forms import QueueForm
from annotation.models import Assignment, AssignmentStatus, Queue
from annotation.queues import default_queue, delete_queue, save_queue
from annotation.states import State
from core.htmx import HtmxHttpRequest
from projects.access import project_access, visible_projects
from projects.models import Project, Role
from projects.services import current_guideline, needs_acknowledgement


def _guideline_redirect(request: HtmxHttpRequest, project: Project, exc: Exception) -> HttpResponse:
    messages.warning(request, str(getattr(exc, "detail", exc)))
    return redirect("projects:guidelines", slug=project.slug)


def _next_or_work(request: HtmxHttpRequest, project: Project) -> HttpResponse:
    """Lease the next item and open it, or go back to the work page saying why not."""
    try:
        assignment = leases.claim_next(project=project, user=request.user)
    except leases.AcknowledgeFirst as exc:
        return _guideline_redirect(request, project, exc)
    except leases.LeaseLimit as exc:
        held = _held(project, request.user)
        if held:
            return redirect("annotation:item", item_id=held[0].item_id)
        messages.warning(request, exc.detail)
        return redirect("annotation:work", slug=project.slug)
    if assignment is None:
        messages.info(request, "Nothing left to do in this project right now. Thank you!")
        return redirect("annotation:work", slug=project.slug)
    return redirect("annotation:item", item_id=assignment.item_id)


def _held(project: Project, user: Any) -> list[Assignment]:
    return list(
        Assignment.objects.filter(user=user, item__project=project, status=AssignmentStatus.ACTIVE)
        .select_related("item")
        .order_by("leased_at")[:20]
    )


@login_required
@require_http_methods(["GET", "POST"])
def work(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """ "Start working": resume a held item or lease the next one."""
    access = project_access(request.user, slug, Role.ANNOTATOR)
    project = access.project
    if request.method == "POST":
        held = _held(project, request.user)
        if held and not request.POST.get("new"):
            return redirect("annotation:item", item_id=held[0].item_id)
        return _next_or_work(request, project)
    guideline = current_guideline(project)
    mine = selectors.my_work(request.user, [project.pk])
    # "Waiting" counts what "Start working" could still hand the caller (as the claim
    # chooses: their queues, unpaused, not items they had before, gold they did not do).
    open_items = leases.waiting_for(project, request.user)
    context = {
        "project": project,
        "access": access,
        "guideline": guideline,
        "needs_ack": needs_acknowledgement(project, request.user),
        "held": _held(project, request.user),
        "mine": mine,
        "open": open_items,
    }
    return render(request, "annotation/work.html", context)


def _editor_context(request: HtmxHttpRequest, ia: selectors.ItemAccess) -> dict[str, Any]:
    item, project, assignment = ia.item, ia.item.project, ia.assignment
    feedback = selectors.item_feedback(item)
    reviews, checks = feedback.get("reviews", []), feedback.get("checks", [])
    history = selectors.item_history(item)
    returned = next((t for t in reversed(history) if t.to_state == State.RETURNED), None)
    editable = assignment is not None and assignment.status == AssignmentStatus.ACTIVE
    if assignment is not None and assignment.draft is not None:
        messages_ = assignment.draft
    elif item.current_revision is not None:
        messages_ = item.current_revision.messages
    elif project.task_type == "conversation":
        messages_ = leases.starting_messages(item, project.task_type)  # with the imported reply
    else:
        messages_ = item.source
    turns = _turns(messages_, project.task_type, editable)
    guideline = current_guideline(project)
    token = selectors.version_token(item, assignment)
    changed = selectors.guideline_changes(project, request.user, guideline) if editable else None
    hidden = draft_hidden(assignment)
    return {
        "project": project,
        "access": ia.access,
        "item": item,
        "assignment": assignment,
        "editable": editable,
        "messages_list": messages_,
        "turns": turns,
        "counts": _counts("\n".join(t["content"] for t in turns if t["counted"])),
        "revision": token if token is not None else 0,
        "editor_state": {
            "item": item.pk,
            "project": project.pk,
            "slug": project.slug,
            "taskType": project.task_type,
            "messages": messages_,
            # The one version token (``revision`` in the API): sent back as base_revision.
            "revision": token if token is not None else 0,
            "savedAt": assignment.draft_saved_at.isoformat()
            if assignment and assignment.draft_saved_at
            else None,
            "leaseExpiresAt": assignment.expires_at.isoformat() if assignment else None,
            # Written blind (anchoring guard): the draft shows after the first save.
            "modelDraft": "" if hidden else item.model_draft,
            "draftHidden": hidden,
            "editable": editable,
            # Guidelines published since the annotator last acknowledged them: shown
            # before submit, which waits for the acknowledgement.
            "guideline": changed,
            "urls": {
                "acknowledge": reverse("projects:api-acknowledge", args=[project.pk]),
                "draft": reverse("annotation:api-draft", args=[item.pk]),
                "submit": reverse("annotation:api-submit", args=[item.pk]),
                "lease": reverse("annotation:api-lease", args=[item.pk]),
                "next": reverse("annotation:api-next", args=[project.pk]),
                "work": reverse("annotation:work", args=[project.slug]),
            },
        },
        "guideline": guideline,
        "guideline_change": changed,
        "draft_hidden": hidden,
        "blind": assignment is not None and assignment.blind,
        "turn_times": selectors.item_turns(item) if ia.access.is_admin else [],
        "reviews": [r for r in reviews if r.feedback or r.reasons or r.decision == "reject"],
        "checks": checks,
        "failed_checks": [c for c in checks if c.outcome != "pass"],
        "returned": returned if item.state == State.RETURNED else None,
        "history": history,
        "flag_categories": services.flag_choices(project),
        "skip_reasons": services.skip_choices(project),
        "topic": _topic(item) if project.task_type == "compose" else "",
    }


def _topic(item: Any) -> str:
    parts = [m.get("content", "") for m in item.source or [] if m.get("role") != "system"]
    return "\n\n".join(p for p in parts if p) or str(item.metadata.get("topic", ""))


def _turns(messages_: list[dict[str, str]], task_type: str, editable: bool) -> list[dict[str, Any]]:
    """Which turns the annotator may change: all of them in a conversation, the prompt and
    the answer when composing, the final answer otherwise. Those same turns are the ones
    counted (``counted``), whether the page is editable or read-only."""
    last = len(messages_) - 1
    turns = []
    for n, m in enumerate(messages_):
        if task_type == "conversation":
            counted = True
        elif task_type == "compose":
            counted = m.get("role") != "system"
        else:
            counted = n == last and m.get("role") == "assistant"
        turns.append(
            {
                "n": n,
                "role": m.get("role"),
                "content": m.get("content", ""),
                "locked": not (editable and counted),
                "counted": counted,
            }
        )
    return turns


_TOKEN_PIECES = re.compile(r"[A-Za-z\u00C0-\u024F]+|\d+|[^\s\w]", re.ASCII)


def _counts(text: str) -> dict[str, int]:
    """Characters, words and estimated tokens of ``text``, as editor.js counts them."""
    return {
        "chars": len(text),
        "words": len(text.split()),
        "tokens": sum(max(1, -(-len(w) // 6)) for w in _TOKEN_PIECES.findall(text)),
    }


@login_required
@require_safe
def item_page(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """The editor (for the lease holder) or the item read-only with its history."""
    ia = selectors.item_access(request.user, item_id)
    assignment = ia.assignment
    # The annotator's own expired lease or returned item is taken up again on opening;
    # a reviewer or admin just looking at an item never leases it.
    if assignment is not None and (
        assignment.status == AssignmentStatus.EXPIRED
        or (assignment.status == AssignmentStatus.SUBMITTED and ia.item.state == State.RETURNED)
    ):
        if needs_acknowledgement(ia.item.project, request.user):
            return _guideline_redirect(
                request,
                ia.item.project,
                Exception("Acknowledge the current guidelines before you continue."),
            )
        taken = leases.take_item(item=ia.item, user=request.user)
        if taken is not None:
            ia = selectors.item_access(request.user, item_id)
    return render(request, "annotation/editor.html", _editor_context(request, ia))


def _posted_messages(request: HtmxHttpRequest) -> list[dict[str, str]]:
    roles = request.POST.getlist("role")
    contents = request.POST.getlist("content")
    return [
        {"role": r, "content": c.replace("\r\n", "\n")}
        for r, c in zip(roles, contents, strict=False)
    ]


def _base(request: HtmxHttpRequest) -> int | None:
    raw = request.POST.get("base_revision", "")
    return int(raw) if raw.isdigit() else None


@login_required
@require_POST
def item_draft(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    ia = selectors.item_access(request.user, item_id)
    try:
        services.save_draft(
            item=ia.item,
            user=request.user,
            messages=_posted_messages(request),
            base_revision=_base(request),
        )
    except (ValidationError, leases.WorkError) as exc:
        messages.error(request, _say(exc))
    else:
        messages.success(request, "Draft saved.")
    return redirect("annotation:item", item_id=item_id)


def _say(exc: Exception) -> str:
    if isinstance(exc, leases.WorkError):
        return exc.detail
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@login_required
@require_POST
def item_submit(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    ia = selectors.item_access(request.user, item_id)
    try:
        services.submit(
            item=ia.item,
            user=request.user,
            messages=_posted_messages(request),
            base_revision=_base(request),
        )
    except leases.AcknowledgeFirst as exc:
        # Keep what was typed: it is submitted once the new guidelines are acknowledged.
        with contextlib.suppress(ValidationError, leases.WorkError):
            services.save_draft(
                item=ia.item,
                user=request.user,
                messages=_posted_messages(request),
                base_revision=None,
            )
        messages.warning(request, exc.detail)
        return redirect("annotation:item", item_id=item_id)
    except (ValidationError, leases.WorkError) as exc:
        messages.error(request, _say(exc))
        return redirect("annotation:item", item_id=item_id)
    messages.success(request, f"Item {item_id} submitted.")
    return _next_or_work(request, ia.item.project)


@login_required
@require_POST
def item_skip(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    ia = selectors.item_access(request.user, item_id)
    try:
        services.skip(
            item=ia.item,
            user=request.user,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )
    except (ValidationError, leases.WorkError) as exc:
        messages.error(request, _say(exc))
        return redirect("annotation:item", item_id=item_id)
    messages.info(request, f"Item {item_id} skipped.")
    return _next_or_work(request, ia.item.project)


@login_required
@require_POST
def item_flag(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    ia = selectors.item_access(request.user, item_id)
    try:
        services.flag(
            item=ia.item,
            user=request.user,
            category=request.POST.get("category", ""),
            note=request.POST.get("note", ""),
        )
    except (ValidationError, leases.WorkError) as exc:
        messages.error(request, _say(exc))
        return redirect("annotation:item", item_id=item_id)
    messages.info(request, f"Item {item_id} flagged.")
    return _next_or_work(request, ia.item.project)


def _admin_action(
    request: HtmxHttpRequest, item_id: int, action: Callable[..., Any], done: str
) -> HttpResponse:
    """Run a project admin's ``action`` on the item with the posted reason, then show
    the item again saying what happened."""
    ia = selectors.item_access(request.user, item_id, Role.ADMIN)
    try:
        action(item=ia.item, actor=request.user, reason=request.POST.get("reason", ""))
    except (ValidationError, leases.WorkError) as exc:
        messages.error(request, _say(exc))
    else:
        messages.success(request, done.format(item=item_id))
    return redirect("annotation:item", item_id=item_id)


@login_required
@require_POST
def item_reopen(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """A project admin sends an approved item back to checks and review."""
    return _admin_action(
        request, item_id, services.reopen, "Item {item} reopened: it goes through checks again."
    )


@login_required
@require_POST
def item_unflag(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """A project admin puts a flagged item back in the queue."""
    return _admin_action(
        request, item_id, services.unflag, "Item {item} unflagged: it is back in the queue."
    )


@login_required
@require_safe
def my_work(request: HtmxHttpRequest) -> HttpResponse:
    project_ids = list(visible_projects(request.user).values_list("pk", flat=True))
    data = selectors.my_work(request.user, project_ids)
    return render(request, "annotation/my_work.html", data)


@login_required
@require_http_methods(["GET", "POST"])
def queues(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    default_queue(project)
    form = QueueForm(request.POST or None, project=project)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                queue = save_queue(project=project, **form.service_args())
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            else:
                messages.success(request, f"Queue “{queue.name}” created.")
                return redirect("annotation:queues", slug=slug)
        else:
            status = 400
    rows = list(Queue.objects.filter(project=project).prefetch_related("assignees"))
    depths = selectors.queue_depths(project.pk, rows)
    queues = [
        (
            q,
            depths.get(None if q.is_default else q.pk, {"queued": 0, "working": 0}),
            QueueForm(project=project, queue=q, prefix=f"q{q.pk}"),
        )
        for q in rows
    ]
    anchoring = selectors.anchoring_comparison(project) if project.task_type == "correct" else None
    context = {
        "project": project,
        "access": access,
        "form": form,
        "queues": queues,
        "anchoring": anchoring,
    }
    return render(request, "annotation/queues.html", context, status=status)


@login_required
@require_POST
def queue_edit(request: HtmxHttpRequest, slug: str, queue_id: int) -> HttpResponse:
    access = project_access(request.user, slug, Role.ADMIN)
    queue = get_object_or_404(Queue, pk=queue_id, project=access.project)
    if request.POST.get("delete"):
        try:
            delete_queue(queue=queue)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"Queue “{queue.name}” removed; its items went back to the default queue."
            )
        return redirect("annotation:queues", slug=slug)
    form = QueueForm(request.POST, project=access.project, queue=queue, prefix=f"q{queue.pk}")
    if form.is_valid():
        try:
            save_queue(project=access.project, queue=queue, **form.service_args())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Queue “{queue.name}” saved.")
    else:
        messages.error(request, "Check the queue's fields: " + json.dumps(form.errors))
    return redirect("annotation:queues", slug=slug)
