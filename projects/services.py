"""Writes for projects, members and guidelines.

Services validate their input and raise ``ValidationError`` with a message a person
understands; views and API views translate that into a form error or a 400.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.auth.models import User as AuthUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from core.text import line_ends
from projects.markdown import render_markdown
from projects.models import Guideline, GuidelineAcknowledgement, Membership, Project, Role, TaskType

User = get_user_model()

SLUG_TAKEN = "A project with this slug already exists; choose another."
OVERLAP_RANGE = "Overlap must be between 1 and 10 annotators per item."
GUIDELINE_EMPTY = "The guideline is empty; write something before publishing."
USERNAME_TAKEN = "A user with this username already exists."
NO_SUCH_USER = "There is no user called {username!r}."
LAST_ADMIN = "A project needs at least one admin; make someone else admin first."
NO_GUIDELINE = "This project has no guideline to acknowledge yet."

PROJECT_FIELDS = (
    "name",
    "slug",
    "description",
    "task_type",
    "overlap",
    "language",
    "lease_minutes",
    "max_leases",
    "gold_rate",
    "skip_reasons",
    "flag_categories",
    "anchoring_share",
)
LEASE_RANGE = "A lease lasts between 1 and 1440 minutes."
MAX_LEASES_RANGE = "An annotator may hold between 1 and 50 items at once."
GOLD_RATE_RANGE = "The gold rate is a share between 0 and 1 (e.g. 0.05 for 5%)."


def _validate_project_fields(fields: dict[str, Any], *, instance: Project | None) -> None:
    if isinstance(fields.get("description"), str):
        fields["description"] = line_ends(fields["description"])
    if "name" in fields and not str(fields["name"]).strip():
        raise ValidationError({"name": "A project needs a name."})
    if "task_type" in fields and fields["task_type"] not in TaskType.values:
        raise ValidationError(
            {"task_type": f"Task type must be one of {', '.join(TaskType.values)}."}
        )
    if "overlap" in fields and not 1 <= int(fields["overlap"]) <= 10:
        raise ValidationError({"overlap": OVERLAP_RANGE})
    if "lease_minutes" in fields and not 1 <= int(fields["lease_minutes"]) <= 1440:
        raise ValidationError({"lease_minutes": LEASE_RANGE})
    if "max_leases" in fields and not 1 <= int(fields["max_leases"]) <= 50:
        raise ValidationError({"max_leases": MAX_LEASES_RANGE})
    if "gold_rate" in fields and not 0 <= float(fields["gold_rate"]) <= 1:
        raise ValidationError({"gold_rate": GOLD_RATE_RANGE})
    if "slug" in fields:
        taken = Project.objects.filter(slug=fields["slug"])
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            raise ValidationError({"slug": SLUG_TAKEN})


def create_project(*, creator: AuthUser, name: str, **fields: Any) -> Project:
    """Create a project; its creator becomes its admin. The apps further down the flow set
    up their own defaults in the same transaction (the review app's default policy, on
    ``post_save``); checks need no rows: a check without one runs with its defaults."""
    fields = {k: v for k, v in fields.items() if k in PROJECT_FIELDS and v is not None}
    fields["name"] = name.strip()
    fields["slug"] = fields.get("slug") or slugify(name)[:80] or "project"
    _validate_project_fields(fields, instance=None)
    try:
        with transaction.atomic():
            project = Project.objects.create(created_by=creator, **fields)
            Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    except IntegrityError:
        raise ValidationError({"slug": SLUG_TAKEN}) from None
    return project


def update_project(*, project: Project, **fields: Any) -> Project:
    fields = {k: v for k, v in fields.items() if k in PROJECT_FIELDS and v is not None}
    _validate_project_fields(fields, instance=project)
    for name, value in fields.items():
        setattr(project, name, value)
    try:
        project.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise ValidationError({"slug": SLUG_TAKEN}) from None
    return project


def create_user(
    *,
    username: str,
    password: str,
    email: str = "",
    is_staff: bool = False,
    can_create_projects: bool = False,
) -> Any:
    """A new account; ``can_create_projects`` lets a non-staff user start projects."""
    username = username.strip()
    if not username:
        raise ValidationError({"username": "A username is required."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": USERNAME_TAKEN})
    candidate = User(username=username, email=email)
    validate_password(password, candidate)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, email=email, is_staff=is_staff
        )
        if can_create_projects:
            allow_creating_projects(user=user, allowed=True)
    return user


def allow_creating_projects(*, user: Any, allowed: bool) -> None:
    """Give or take ``user``'s right to create projects (staff always have it)."""
    permission = Permission.objects.get(content_type__app_label="projects", codename="add_project")
    if allowed:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)


def set_member(*, project: Project, username: str, role: str) -> Membership:
    """Add ``username`` to ``project`` with ``role``, or change their role."""
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Role.values)}."})
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": NO_SUCH_USER.format(username=username)})
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            project=project, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            _keep_an_admin(project, membership)
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def remove_member(*, membership: Membership) -> None:
    with transaction.atomic():
        _keep_an_admin(membership.project, membership)
        membership.delete()


def _keep_an_admin(project: Project, leaving: Membership) -> None:
    if leaving.role != Role.ADMIN:
        return
    others = Membership.objects.filter(project=project, role=Role.ADMIN).exclude(pk=leaving.pk)
    if not others.exists():
        raise ValidationError(LAST_ADMIN)


def current_guideline(project: Project) -> Guideline | None:
    return Guideline.objects.filter(project=project).order_by("-version").first()


def publish_guideline(*, project: Project, body: str, author: AuthUser) -> Guideline:
    """Publish ``body`` as the project's new current guideline version.

    Takes a row lock on the project so two publishers get consecutive versions.
    """
    if not body.strip():
        raise ValidationError({"body": GUIDELINE_EMPTY})
    body = line_ends(body)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        latest = Guideline.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
        guideline = Guideline.objects.create(
            project=project,
            version=latest + 1,
            body=body,
            html=render_markdown(body),
            created_by=author,
        )
        # Whoever wrote it has read it.
        GuidelineAcknowledgement.objects.create(guideline=guideline, user=author)
    return guideline


def acknowledge_guideline(*, project: Project, user: AuthUser) -> GuidelineAcknowledgement:
    guideline = current_guideline(project)
    if guideline is None:
        raise ValidationError(NO_GUIDELINE)
    ack, _ = GuidelineAcknowledgement.objects.get_or_create(guideline=guideline, user=user)
    return ack


def needs_acknowledgement(project: Project, user: AuthUser | AnonymousUser) -> bool:
    """True when the project has a guideline whose current version ``user`` has not
    acknowledged. Annotators cannot take work until they have."""
    guideline = current_guideline(project)
    if guideline is None:
        return False
    return not GuidelineAcknowledgement.objects.filter(
        guideline=guideline, user_id=user.pk or 0
    ).exists()
