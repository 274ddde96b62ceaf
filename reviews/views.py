"""Review pages: the queue per stage, the review screen (one form, four decisions), and
the admin's review policy (stages, rubric, reason codes, gold items, agreement)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotation.models import Item
from projects.access import project_access
from projects.models import Membership, Role
from reviews import selectors, services
from reviews.models import Decision, ReasonCode, ReviewStage, RubricCriterion

DECIDED = {
    Decision.APPROVE: "Approved.",
    Decision.EDIT: "Your edit was saved and approved.",
    Decision.REJECT: "Returned to the annotator with your feedback.",
    Decision.FLAG: "Flagged: kept out of the dataset.",
}


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def _checks_template() -> str:
    """The checks' own results partial when it exists, else a plain list of ours."""
    try:
        get_template("checks/_results.html")
    except TemplateDoesNotExist:
        return "reviews/_review_checks.html"
    return "checks/_results.html"


@login_required
def review_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Stages with what waits at each, the items the reviewer holds, and a start button
    per stage. Queries: session, user, project, membership, stages (counts), stages
    open to the reviewer, waiting per stage, held items."""
    access = project_access(request.user, slug, Role.REVIEWER)
    reviewer: User = request.user  # type: ignore[assignment]
    context = {
        "project": access.project,
        "access": access,
        "stages": selectors.queue_counts(access.project, reviewer),
        "held": selectors.held_items(access.project, reviewer),
    }
    return render(request, "reviews/queue.html", context)


@login_required
@require_POST
def review_next(request: HttpRequest, slug: str) -> HttpResponse:
    """Lease the next item (at the chosen stage) and open it; back to the queue with a
    message when nothing is left."""
    access = project_access(request.user, slug, Role.REVIEWER)
    raw = request.POST.get("stage", "")
    stage = int(raw) if raw.isdigit() else None
    lease = services.next_for_review(
        project=access.project,
        reviewer=request.user,  # type: ignore[arg-type]
        stage=stage,
    )
    if lease is None:
        messages.info(request, "Nothing left for you to review here. Well done.")
        return redirect("review:queue", slug=slug)
    return redirect("review:item", slug=slug, item_id=lease.item_id)


def _item_for(request: HttpRequest, slug: str, item_id: int) -> tuple[Any, Item]:
    access = project_access(request.user, slug, Role.REVIEWER)
    item = get_object_or_404(Item, pk=item_id, project=access.project)
    return access, item


def _decision_input(request: HttpRequest, screen: selectors.ReviewScreen) -> dict[str, Any]:
    post = request.POST
    scores = {
        c.key: post.get(f"score-{c.key}") for c in screen.rubric if post.get(f"score-{c.key}")
    }
    picked = post.get("picked_revision", "")
    data: dict[str, Any] = {
        "decision": post.get("decision", ""),
        "feedback": post.get("feedback", ""),
        "reasons": post.getlist("reasons"),
        "scores": scores,
        "picked_revision": int(picked) if picked.isdigit() else None,
    }
    if data["decision"] == Decision.EDIT:
        base = screen.revision
        if data["picked_revision"]:
            base = next(
                (r for r in screen.revisions if r.pk == data["picked_revision"]), screen.revision
            )
        prior = list(base.messages[:-1]) if base is not None else list(screen.item.source)
        data["messages"] = [*prior, {"role": "assistant", "content": post.get("answer", "")}]
    return data


@login_required
@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    """The review screen. GET shows the item; POST records the decision and opens the
    next item of the same stage. Queries on GET: session, user, project, membership,
    item, then the screen's fixed set (see ``selectors.review_screen``)."""
    access, item = _item_for(request, slug, item_id)
    reviewer: User = request.user  # type: ignore[assignment]
    screen = selectors.review_screen(item, reviewer)
    errors: list[str] = []
    status = 200
    if screen.own_work:
        status = 403
        errors = [services.OWN_WORK]
    elif request.method == "POST":
        data = _decision_input(request, screen)
        try:
            services.decide(item=item, reviewer=reviewer, **data)
        except ValidationError as exc:
            errors, status = _errors(exc), 400
        except (services.ReviewConflict, PermissionDenied) as exc:
            errors, status = [str(exc)], 409
        else:
            messages.success(request, DECIDED[Decision(data["decision"])])
            lease = services.next_for_review(
                project=access.project,
                reviewer=reviewer,
                stage=screen.visit.stage if screen.visit else None,
            )
            if lease is None:
                messages.info(request, "Nothing left for you to review at this stage.")
                return redirect("review:queue", slug=slug)
            return redirect("review:item", slug=slug, item_id=lease.item_id)
    context = {
        "project": access.project,
        "access": access,
        "s": screen,
        "timeline": selectors.timeline(screen),
        "form_reasons": request.POST.getlist("reasons") if request.method == "POST" else [],
        "item": item,
        "results": screen.checks,
        "checks_template": _checks_template(),
        "errors": errors,
        "form": request.POST if request.method == "POST" else None,
        "scale": range(1, 6),
    }
    return render(request, "reviews/item.html", context, status=status)


@login_required
@require_POST
def review_release(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    access, item = _item_for(request, slug, item_id)
    services.release_review(item=item, reviewer=request.user)  # type: ignore[arg-type]
    messages.info(request, f"Item {item.pk} is back in the review queue.")
    return redirect("review:queue", slug=access.project.slug)


# --- Policy ---------------------------------------------------------------------------


def _rows(post: Any, prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows posted as ``<prefix>-<n>-<field>``, in order, without blank or removed ones."""
    count = (
        int(post.get(f"{prefix}-count", "0") or 0)
        if post.get(f"{prefix}-count", "").isdigit()
        else 0
    )
    rows = []
    for n in range(min(count, 50)):
        row = {f: post.get(f"{prefix}-{n}-{f}", "") for f in fields}
        row["_list"] = post.getlist(f"{prefix}-{n}-reviewers")
        if post.get(f"{prefix}-{n}-remove") or not str(row.get(fields[0], "")).strip():
            continue
        rows.append(row)
    return rows


def _policy_context(access: Any) -> dict[str, Any]:
    project = access.project
    stages = list(ReviewStage.objects.filter(project=project).prefetch_related("reviewers"))
    for s in stages:
        s.reviewer_ids = {u.pk for u in s.reviewers.all()}  # type: ignore[attr-defined]
    reviewers = [
        m.user
        for m in Membership.objects.filter(
            project=project, role__in=[Role.REVIEWER, Role.ADMIN]
        ).select_related("user")
    ]
    gold = list(
        Item.objects.filter(project=project, is_gold=True)
        .order_by("id")
        .only("id", "source", "reference", "state")[:200]
    )
    return {
        "project": project,
        "access": access,
        "stages": stages,
        "stage_count": len(stages) + 1,
        "reviewers": reviewers,
        "rubric": list(RubricCriterion.objects.filter(project=project)),
        "reasons": list(ReasonCode.objects.filter(project=project)),
        "gold": gold,
        "gold_percent": round(project.gold_rate * 100, 1),
        "gold_scores": selectors.gold_scores(project),
        "agreement": selectors.agreement_by_stage(project),
    }


@login_required
@require_http_methods(["GET", "POST"])
def review_policy(request: HttpRequest, slug: str) -> HttpResponse:
    """The admin's review policy page. One form per section; each POST names its
    section in ``section``."""
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        section = request.POST.get("section", "")
        try:
            if section == "stages":
                reviewer_names = dict(
                    Membership.objects.filter(project=project).values_list(
                        "user_id", "user__username"
                    )
                )
                stages = []
                for row in _rows(
                    request.POST, "stage", ("name", "percent", "min_approvals", "allow_prior")
                ):
                    try:
                        percent = float(row["percent"] or 100)
                    except ValueError:
                        percent = -1
                    approvals = row["min_approvals"]
                    stages.append(
                        {
                            "name": row["name"],
                            "sample_rate": percent / 100,
                            "min_approvals": int(approvals) if str(approvals).isdigit() else 0,
                            "allow_prior_reviewers": bool(row["allow_prior"]),
                            "reviewers": [
                                reviewer_names.get(int(pk), pk)
                                for pk in row["_list"]
                                if pk.isdigit()
                            ],
                        }
                    )
                services.set_review_stages(project=project, stages=stages)
                messages.success(
                    request, "Review stages saved. Items already past a stage are not affected."
                )
            elif section == "rubric":
                rows = _rows(request.POST, "criterion", ("label", "description", "required", "key"))
                services.set_rubric(project=project, criteria=rows)
                messages.success(request, "Rubric saved.")
            elif section == "reasons":
                rows = _rows(request.POST, "reason", ("label", "code"))
                services.set_reason_codes(project=project, reasons=rows)
                messages.success(request, "Reason codes saved.")
            elif section == "gold":
                raw = request.POST.get("item", "").strip().lstrip("#")
                gold_item = Item.objects.filter(
                    project=project, pk=int(raw) if raw.isdigit() else 0
                ).first()
                if gold_item is None:
                    raise ValidationError(
                        {"item": "There is no item with that number in this project."}
                    )
                services.set_gold(item=gold_item, reference=request.POST.get("reference", ""))
                messages.success(request, f"Item {gold_item.pk} is now a gold item.")
            elif section == "gold-remove":
                raw = request.POST.get("item", "")
                gold_item = get_object_or_404(
                    Item, project=project, pk=int(raw) if raw.isdigit() else 0
                )
                services.unset_gold(item=gold_item)
                messages.success(request, f"Item {gold_item.pk} is no longer a gold item.")
            elif section == "gold-rate":
                try:
                    rate = float(request.POST.get("gold_percent", "") or 0) / 100
                except ValueError:
                    rate = -1
                services.set_gold_rate(project=project, rate=rate)
                messages.success(request, "Gold rate saved.")
            else:
                raise ValidationError("Unknown section.")
        except ValidationError as exc:
            errors[section] = _errors(exc)
        else:
            return redirect(reverse("review:policy", kwargs={"slug": slug}) + f"#{section}")
    context = {**_policy_context(access), "errors": errors}
    return render(request, "reviews/policy.html", context, status=400 if errors else 200)
