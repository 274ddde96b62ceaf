"""Review pages: the queue per stage, the review screen (one form, four decisions), and
the admin's review policy (stages, rubric, reason codes, gold items, agreement)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotation.models import Item
from core.htmx import HtmxHttpRequest, add_form_errors
from projects.access import ProjectAccess, project_access
from projects.models import Project, Role
from reviews import decisions, forms, policy, selectors, services
from reviews.models import Decision, ReasonCode, ReviewStage, RubricCriterion
from reviews.policy import stage_reviewers

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
@require_safe
def review_queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Stages with what waits at each, the items the reviewer holds, and a start button
    per stage. Queries: session, user, project, membership, stages (counts), stages
    open to the reviewer, waiting per stage, held items."""
    access = project_access(request.user, slug, Role.REVIEWER)
    reviewer: User = request.user
    context = {
        "project": access.project,
        "access": access,
        "stages": selectors.queue_counts(access.project, reviewer),
        "held": selectors.held_items(access.project, reviewer),
    }
    return render(request, "reviews/queue.html", context)


@login_required
@require_POST
def review_next(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Lease the next item (at the chosen stage) and open it; back to the queue with a
    message when nothing is left."""
    access = project_access(request.user, slug, Role.REVIEWER)
    raw = request.POST.get("stage", "")
    stage = int(raw) if raw.isdigit() else None
    lease = services.next_for_review(
        project=access.project,
        reviewer=request.user,
        stage=stage,
    )
    if lease is None:
        messages.info(request, "Nothing left for you to review here. Well done.")
        return redirect("review:queue", slug=slug)
    return redirect("review:item", slug=slug, item_id=lease.item_id)


def _item_for(request: HtmxHttpRequest, slug: str, item_id: int) -> tuple[ProjectAccess, Item]:
    access = project_access(request.user, slug, Role.REVIEWER)
    item = get_object_or_404(Item, pk=item_id, project=access.project)
    return access, item


def _decision_input(request: HtmxHttpRequest, screen: selectors.ReviewScreen) -> dict[str, Any]:
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
def review_item(request: HtmxHttpRequest, slug: str, item_id: int) -> HttpResponse:
    """The review screen. GET shows the item; POST records the decision and opens the
    next item of the same stage. Queries on GET: session, user, project, membership,
    item, then the screen's fixed set (see ``selectors.review_screen``)."""
    access, item = _item_for(request, slug, item_id)
    reviewer: User = request.user
    screen = selectors.review_screen(item, reviewer)
    errors: list[str] = []
    status = 200
    if screen.own_work:
        status = 403
        errors = [decisions.OWN_WORK]
    elif request.method == "POST":
        data = _decision_input(request, screen)
        try:
            decisions.decide(item=item, reviewer=reviewer, **data)
        except ValidationError as exc:
            errors, status = _errors(exc), 400
        except (decisions.ReviewConflict, PermissionDenied) as exc:
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
def review_release(request: HtmxHttpRequest, slug: str, item_id: int) -> HttpResponse:
    access, item = _item_for(request, slug, item_id)
    services.release_review(item=item, reviewer=request.user)
    messages.info(request, f"Item {item.pk} is back in the review queue.")
    return redirect("review:queue", slug=access.project.slug)


# --- Policy ---------------------------------------------------------------------------

Forms = dict[str, Any]


def _policy_forms(project: Project, section: str, data: Any) -> Forms:
    """The page's forms by section (``-`` spelled ``_``, for templates); only the posted
    ``section`` is bound to ``data``. Queries: stages, their reviewers, the project's
    reviewers, rubric, reasons."""

    def bound(name: str) -> Any:
        return data if name == section else None

    stages = list(ReviewStage.objects.filter(project=project).prefetch_related("reviewers"))
    choices = [(str(pk), name) for name, pk in stage_reviewers(project).items()]
    rubric = list(RubricCriterion.objects.filter(project=project))
    reasons = list(ReasonCode.objects.filter(project=project))
    return {
        "stages": forms.stage_formset(stages, choices, bound("stages")),
        "rubric": forms.rubric_formset(rubric, bound("rubric")),
        "reasons": forms.reason_formset(reasons, bound("reasons")),
        "gold": forms.GoldForm(bound("gold"), project=project, auto_id="gold-%s"),
        "gold_rate": forms.GoldRateForm(
            bound("gold-rate"),
            initial={"gold_percent": forms.percent(project.gold_rate)},
            auto_id="%s",
        ),
        "gold_remove": forms.GoldRemoveForm(bound("gold-remove"), project=project),
    }


def _save_stages(project: Project, form: Any) -> str:
    policy.set_review_stages(project=project, stages=form.stages())
    return "Review stages saved. Items already past a stage are not affected."


def _save_rubric(project: Project, form: Any) -> str:
    policy.set_rubric(project=project, criteria=form.rows())
    return "Rubric saved."


def _save_reasons(project: Project, form: Any) -> str:
    policy.set_reason_codes(project=project, reasons=form.rows())
    return "Reason codes saved."


def _save_gold(project: Project, form: Any) -> str:
    item = policy.set_gold(item=form.cleaned_data["item"], reference=form.cleaned_data["reference"])
    return f"Item {item.pk} is now a gold item."


def _save_gold_rate(project: Project, form: Any) -> str:
    policy.set_gold_rate(project=project, rate=form.cleaned_data["gold_percent"] / 100)
    return "Gold rate saved."


def _remove_gold(project: Project, form: Any) -> str:
    item = policy.unset_gold(item=form.cleaned_data["item"])
    return f"Item {item.pk} is no longer a gold item."


# Each section: how to save its valid form, and the page anchor to come back to.
SECTIONS: dict[str, tuple[Callable[[Project, Any], str], str]] = {
    "stages": (_save_stages, "stages"),
    "rubric": (_save_rubric, "rubric"),
    "reasons": (_save_reasons, "reasons"),
    "gold": (_save_gold, "gold"),
    "gold-rate": (_save_gold_rate, "gold"),
    "gold-remove": (_remove_gold, "gold"),
}


def _save_section(request: HtmxHttpRequest, project: Project, section: str, form: Any) -> bool:
    """Save the posted section's form when it is valid; the service's refusal is shown
    on the form. Returns whether it was saved."""
    if not form.is_valid():
        return False
    save, _anchor = SECTIONS[section]
    try:
        done = save(project, form)
    except ValidationError as exc:
        if isinstance(form, forms.RowFormSet):
            form.add_service_errors(exc)
        else:
            add_form_errors(form, exc)
        return False
    messages.success(request, done)
    return True


def _policy_context(access: ProjectAccess, policy_forms: Forms) -> dict[str, Any]:
    project = access.project
    gold = list(
        Item.objects.filter(project=project, is_gold=True)
        .order_by("id")
        .only("id", "source", "reference", "state")[:200]
    )
    return {
        "project": project,
        "access": access,
        "forms": policy_forms,
        "gold": gold,
        "gold_scores": selectors.gold_scores(project),
        "agreement": selectors.agreement_by_stage(project),
    }


@login_required
@require_http_methods(["GET", "POST"])
def review_policy(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The admin's review policy page: one form per section, each with its own save
    button that names the section. A valid section is saved whole and the page shows
    it again; an invalid one comes back as typed, with the errors beside the fields."""
    access = project_access(request.user, slug, Role.ADMIN)
    project = access.project
    section = request.POST.get("section", "") if request.method == "POST" else ""
    if request.method == "POST" and section not in SECTIONS:
        return HttpResponseBadRequest("Unknown section.")
    policy_forms = _policy_forms(project, section, request.POST)
    posted = policy_forms.get(section.replace("-", "_"))
    if posted is not None and _save_section(request, project, section, posted):
        url = reverse("review:policy", kwargs={"slug": slug})
        return redirect(f"{url}#{SECTIONS[section][1]}")
    context = _policy_context(access, policy_forms)
    return render(request, "reviews/policy.html", context, status=400 if section else 200)
