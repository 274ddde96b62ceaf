"""Object and permission in one call.

A project the user is not a member of does not exist for them (404). A member without
the role an action needs gets 403 with a reason. Instance staff act as project admins
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from projects.models import ROLE_RANK, Membership, Project, Role

ROLE_NEEDED = {
    Role.ANNOTATOR: "You need to be a member of this project.",
    Role.REVIEWER: "Only reviewers and admins of this project can do this.",
    Role.ADMIN: "Only admins of this project can do this.",
}

User = AuthUser | AnonymousUser


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: str | None  # the user's membership role; None for staff who are not members
    is_staff: bool

    def has(self, role: str) -> bool:
        if self.is_staff:
            return True
        return self.role is not None and ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_admin(self) -> bool:
        return self.has(Role.ADMIN)

    @property
    def is_reviewer(self) -> bool:
        return self.has(Role.REVIEWER)


def visible_projects(user: User) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if getattr(user, "is_staff", False):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_access(user: User, project_id: int | str, role: str = Role.ANNOTATOR) -> ProjectAccess:
    """The project with ``project_id`` (a pk or a slug) as ``user`` may see it.

    Raises ``Http404`` when the user may not see the project at all and
    ``PermissionDenied`` when they may see it but lack ``role``.
    """
    if not user.is_authenticated:
        raise Http404("No such project.")
    key = str(project_id)
    project = (
        Project.objects.filter(pk=int(key)) if key.isdigit() else Project.objects.filter(slug=key)
    ).first()
    if project is None:
        raise Http404("No such project.")
    membership = Membership.objects.filter(project=project, user=user).only("role").first()
    is_staff = bool(getattr(user, "is_staff", False))
    if membership is None and not is_staff:
        raise Http404("No such project.")
    access = ProjectAccess(project, membership.role if membership else None, is_staff)
    if not access.has(role):
        raise PermissionDenied(ROLE_NEEDED[Role(role)])
    return access


CREATE_NOT_ALLOWED = (
    "Creating projects is for instance staff and the people they allow; ask one of them."
)
CREATE_PERMISSION = "projects.add_project"


def may_create_projects(user: Any) -> bool:
    """Instance staff, and users staff allowed: the ``projects.add_project`` permission,
    given to them or to one of their groups (one query, never cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    app_label, codename = CREATE_PERMISSION.split(".")
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )
