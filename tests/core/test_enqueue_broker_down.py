"""A change that committed stays a success when the broker is down: the task it would
start is left for the sweeper, and the caller gets its answer, not a 500."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache

from annotation.models import Item, Revision
from annotation.states import State
from checks.recheck import sweep_stuck_submissions
from config.celery import app as celery_app
from tests.conftest import api_for
from tests.factories import make_item


def fresh_connections() -> None:
    """Forget pooled broker connections, so the next send uses the current broker_url."""
    setattr(celery_app, "_pool", None)
    setattr(celery_app.amqp, "_producer_pool", None)


@pytest.fixture
def broker_down() -> Any:
    conf: Any = celery_app.conf  # broker_url is a read-only property in celery-types
    before = conf.broker_url, conf.task_always_eager
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    fresh_connections()
    yield
    conf.broker_url, conf.task_always_eager = before
    fresh_connections()


@pytest.mark.django_db
def test_a_submit_while_the_broker_is_down_is_saved_and_answers_success(
    project: Any, anna: Any, broker_down: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = make_item(project)
    client = api_for(anna)
    lease = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    messages = [*item.source, {"role": "assistant", "content": "Open Settings, then Reset."}]
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/items/{item.pk}/submit/",
            {"messages": messages, "base_revision": lease["base_revision"]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert time.monotonic() - started < 10
    item = Item.objects.get(pk=item.pk)
    assert item.state == State.SUBMITTED  # waiting for its checks, which the sweeper resends
    assert Revision.objects.get(item=item).messages[-1]["content"] == "Open Settings, then Reset."
    # Once a worker can be reached again, the sweeper sends the checks, and the item moves on.
    celery_app.conf.task_always_eager = True
    # The sweeper sends a revision once per window; forget a send another test made for an
    # earlier revision with this id (SQLite reuses ids between tests).
    cache.delete(f"checks:swept:{item.current_revision_id}")
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stuck_submissions(older_than=timedelta(0)) == 1
    assert Item.objects.get(pk=item.pk).state != State.SUBMITTED
