"""The cast shared by every test: alice the project admin, rita the reviewer, anna the
annotator, oscar the outsider (a member of nothing), and sam the instance staff."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from config.celery import app as celery_app
from projects import services
from projects.models import Project, Role
from tests.browser import browser, new_page  # noqa: F401  (fixtures)
from tests.services import PASSWORD


@pytest.fixture(autouse=True)
def _tasks_in_process() -> Iterator[None]:
    """Tests run tasks in-process unless they start a real worker themselves."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Each test starts with the test client's address unthrottled (the cache outlives
    a test's database transaction)."""
    cache.delete_many([f"throttle_{scope}_127.0.0.1" for scope in ("anon", "auth")])


def _user(username: str, **extra: Any) -> Any:
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.org", **extra
    )


@pytest.fixture
def alice(db: None) -> Any:
    return _user("alice")


@pytest.fixture
def rita(db: None) -> Any:
    return _user("rita")


@pytest.fixture
def anna(db: None) -> Any:
    return _user("anna")


@pytest.fixture
def oscar(db: None) -> Any:
    return _user("oscar")


@pytest.fixture
def sam(db: None) -> Any:
    return _user("sam", is_staff=True)


@pytest.fixture
def project(alice: Any, rita: Any, anna: Any) -> Project:
    """A `write` project: alice admin, rita reviewer, anna annotator."""
    p = services.create_project(creator=alice, name="Support answers", slug="support")
    services.set_member(project=p, username="rita", role=Role.REVIEWER)
    services.set_member(project=p, username="anna", role=Role.ANNOTATOR)
    return p


@pytest.fixture
def other_project(oscar: Any) -> Project:
    return services.create_project(creator=oscar, name="Someone else's", slug="elsewhere")


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api() -> Any:
    return api_for


if os.environ.get("REQUIRE_SERVICES", "") not in ("", "0"):
    assert os.environ.get("DATABASE_URL", "").startswith("postgres"), (
        "REQUIRE_SERVICES=1 needs DATABASE_URL pointing at PostgreSQL"
    )
    assert os.environ.get("REDIS_URL"), "REQUIRE_SERVICES=1 needs REDIS_URL"


@pytest.fixture
def correct_project(alice: Any) -> Project:
    """A `correct` project (imported answers become model drafts); alice is its admin."""
    return services.create_project(
        creator=alice, name="Fix the drafts", slug="drafts", task_type="correct"
    )


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """``write_file(name, content)`` with bytes, text, or an iterable of JSON rows."""

    def write(name: str, content: bytes | str | Iterable[Any]) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            lines = [json.dumps(row, ensure_ascii=False) for row in content]
            path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        return path

    return write


@pytest.fixture
def may_create(db: None) -> Callable[[Any], Any]:
    """``may_create(user)`` lets a non-staff user create projects, as staff can allow."""

    def allow(user: Any) -> Any:
        services.allow_creating_projects(user=user, allowed=True)
        return user

    return allow
