"""The admin's page for one item: every revision with its diff and check results,
every review, the full history, who holds it; and the admin's actions on it (one form,
several buttons, one view)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotation.messages import answer_text
from annotation.models import Assignment, Item, Queue, Revision, Transition
from checks.models import CheckResult
from core.htmx import HtmxHttpRequest
from overview import services
from overview.models import ItemChange
from projects.access import project_access
from projects.models import Role
from reviews.models import ReviewLease
from reviews.selectors import reviews_of, word_diff

ERR_PRIORITY = "The priority must be a whole number."
ERR_ACTION = "Unknown action."


def _item(user: Any, slug: str, item_id: int) -> tuple[Any, Item]:
    access = project_access(user, slug, Role.ADMIN)
    item = (
        Item.objects.select_related("current_revision", "queue")
        .filter(pk=item_id, project=access.project)
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    item.project = access.project
    return access, item


def _revisions(item: Item) -> list[dict[str, Any]]:
    revisions = list(Revision.objects.filter(item=item).select_related("author").order_by("id"))
    results: dict[int, list[CheckResult]] = defaultdict(list)
    for r in CheckResult.objects.filter(revision__item=item).order_by("name"):
        results[r.revision_id].append(r)
    by_id = {r.pk: r for r in revisions}
    shown = []
    previous: Revision | None = None
    for rev in revisions:
        base = by_id.get(rev.base_id or 0) or previous
        old = answer_text(base.messages) if base else item.model_draft
        shown.append(
            {
                "revision": rev,
                "answer": answer_text(rev.messages),
                "diff": word_diff(old, answer_text(rev.messages)),
                "against": base.pk if base else ("model draft" if item.model_draft else None),
                "checks": results.get(rev.pk, []),
                "current": rev.pk == item.current_revision_id,
            }
        )
        previous = rev
    return shown


def _history(item: Item) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "at": t.at,
            "actor": t.actor.username if t.actor else "system",
            "what": f"{t.event}: {t.from_state} → {t.to_state}",
            "reason": t.reason,
        }
        for t in Transition.objects.filter(item=item).select_related("actor").order_by("id")
    ]
    rows += [
        {
            "at": c.at,
            "actor": c.actor.username if c.actor else "system",
            "what": f"{c.action}: {c.before.get('value')} → {c.after.get('value')}",
            "reason": f"bulk job #{c.job_id}" if c.job_id else "",
        }
        for c in ItemChange.objects.filter(item=item).select_related("actor").order_by("id")
    ]
    return sorted(rows, key=lambda r: r["at"])


@login_required
@require_GET
def item_admin(request: HtmxHttpRequest, slug: str, item_id: int) -> HttpResponse:
    access, item = _item(request.user, slug, item_id)
    now = timezone.now()
    context = {
        "project": access.project,
        "access": access,
        "item": item,
        "revisions": _revisions(item),
        "reviews": reviews_of(item),
        "history": _history(item),
        "assignments": list(Assignment.objects.filter(item=item).select_related("user")),
        "review_leases": list(
            ReviewLease.objects.filter(item=item, expires_at__gt=now).select_related("reviewer")
        ),
        "queues": list(Queue.objects.filter(project=access.project).order_by("name")),
        "now": now,
    }
    return render(request, "overview/item.html", context)


def _apply(action: str, item: Item, user: Any, post: Any) -> str:
    reason = post.get("reason", "").strip()
    if action == "reopen":
        services.reopen(item=item, actor=user, reason=reason)
        return "Reopened: the item is back in checks and review."
    if action == "unflag":
        services.unflag(item=item, actor=user, reason=reason)
        return "Unflagged: the item is back in the queue."
    if action == "requeue":
        services.requeue(item=item, actor=user, reason=reason)
        return f"Sent back to annotation: the item is now {item.get_state_display().lower()}."
    if action == "priority":
        raw = post.get("priority", "").strip()
        if not raw.lstrip("-").isdigit() or len(raw) > 9:
            raise ValidationError(ERR_PRIORITY)
        services.set_priority(item=item, actor=user, priority=int(raw))
        return f"Priority set to {raw}."
    if action == "retag":
        tags = [t.strip() for t in post.get("tags", "").split(",") if t.strip()]
        services.retag(item=item, actor=user, add=tags, remove=set(item.tags or []) - set(tags))
        return "Tags saved."
    if action == "queue":
        raw = post.get("queue", "")
        queue = (
            Queue.objects.filter(project=item.project, pk=raw).first()
            if raw.isdigit() and len(raw) < 19
            else None
        )
        services.move_to_queue(item=item, actor=user, queue=queue)
        return "Queue changed."
    if action in ("gold", "ungold"):
        services.mark_gold(item=item, actor=user, gold=action == "gold")
        return "Marked as gold." if action == "gold" else "No longer a gold item."
    if action in ("flag", "discard"):
        category = services.DISCARDED if action == "discard" else "admin"
        services.flag(item=item, actor=user, reason=reason or category, category=category)
        return "Discarded." if action == "discard" else "Flagged."
    raise ValidationError(ERR_ACTION)


@login_required
@require_POST
def item_action(request: HtmxHttpRequest, slug: str, item_id: int) -> HttpResponse:
    _access, item = _item(request.user, slug, item_id)
    try:
        text = _apply(request.POST.get("action", ""), item, request.user, request.POST)
    except (services.Refused, ValidationError) as exc:
        messages.error(
            request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        )
    else:
        messages.success(request, text)
    return redirect("overview:item", slug=slug, item_id=item_id)
