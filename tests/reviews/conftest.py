"""Review test helpers: items already waiting in review, and more reviewers."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Item
from annotation.states import State
from projects import services as project_services
from projects.models import Project, Role
from reviews import services
from reviews.routing import enter_review
from tests.conftest import _user
from tests.factories import make_item


def submitted(
    project: Project, author: Any, answer: str = "Open Settings, then Security.", **kw: Any
) -> Item:
    """An item answered by ``author`` whose checks just passed (``submitted``)."""
    return make_item(project, answer=answer, author=author, state=State.SUBMITTED, **kw)


def in_review(project: Project, author: Any, **kw: Any) -> Item:
    """An item answered by ``author`` and routed into review by the real routing."""
    item = submitted(project, author, **kw)
    assert enter_review(item)
    return item


def leased(project: Project, reviewer: Any, stage: int | None = None) -> int | None:
    """The id of the item ``reviewer`` gets from the review queue (``None``: nothing)."""
    lease = services.next_for_review(project=project, reviewer=reviewer, stage=stage)
    return lease.item_id if lease is not None else None


@pytest.fixture
def ravi(project: Project) -> Any:
    """A second reviewer of ``project``."""
    user = _user("ravi")
    project_services.set_member(project=project, username="ravi", role=Role.REVIEWER)
    return user


@pytest.fixture
def rosa(project: Project) -> Any:
    """A third reviewer of ``project``."""
    user = _user("rosa")
    project_services.set_member(project=project, username="rosa", role=Role.REVIEWER)
    return user
