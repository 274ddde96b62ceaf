"""The "waiting for you" count on the Work page is exactly what "Start working" would hand
the annotator: not the queues of others, not paused queues, not gold they did."""

from __future__ import annotations

import re

import pytest

from annotation import leases, queues, services
from annotation.models import Queue
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _waiting(client, project) -> int:
    page = client.get(f"/projects/{project.slug}/work/").content.decode()
    found = re.search(r"(\d+) items? waiting for you", page)
    assert found, page
    return int(found.group(1))


def _served_all(project, user) -> int:
    served = 0
    while (a := leases.claim_next(project=project, user=user)) is not None:
        services.skip(item=a.item, user=user, reason="Other", note="counting")
        served += 1
    return served


def test_a_queue_assigned_to_others_is_not_waiting_for_you(client, project, anna, rita) -> None:
    queues.save_queue(project=project, name="Legal", tags=["legal"], assignees=[rita])
    make_item(project, "legal question", tags=["legal"])
    queues.save_queue(project=project, name="Mine", tags=["billing"], assignees=[anna])
    make_item(project, "billing question", tags=["billing"])
    make_item(project, "anything")
    # Items get their queue when a queue is saved; route the new ones.
    for q in Queue.objects.filter(project=project, is_default=False):
        queues.save_queue(project=project, queue=q, name=q.name, tags=q.tags)
    client.force_login(anna)
    assert _waiting(client, project) == 2
    assert _served_all(project, anna) == 2


def test_a_paused_queue_is_not_waiting(client, project, anna) -> None:
    queues.save_queue(project=project, name="Later", tags=["later"], paused=True)
    make_item(project, "for later", tags=["later"])
    for q in Queue.objects.filter(project=project, is_default=False):
        queues.save_queue(project=project, queue=q, name=q.name, tags=q.tags, paused=True)
    make_item(project, "now")
    client.force_login(anna)
    assert _waiting(client, project) == 1
    default = queues.default_queue(project)
    queues.save_queue(project=project, queue=default, name=default.name, paused=True)
    assert _waiting(client, project) == 0
    assert _served_all(project, anna) == 0


def test_gold_counts_until_you_answered_it(client, project, anna) -> None:
    project.gold_rate = 0.1
    project.save()
    gold = make_item(project, "gold", is_gold=True, reference="The known answer.")
    client.force_login(anna)
    assert _waiting(client, project) == 1
    assignment = leases.claim_next(project=project, user=anna)
    assert assignment is not None and assignment.item == gold
    services.submit(
        item=gold,
        user=anna,
        messages=[*gold.source, {"role": "assistant", "content": "My answer to the gold."}],
        base_revision=None,
    )
    assert _waiting(client, project) == 0
    assert leases.claim_next(project=project, user=anna) is None


def test_gold_is_not_waiting_when_the_project_serves_none(client, project, anna) -> None:
    make_item(project, "gold", is_gold=True)
    client.force_login(anna)
    assert _waiting(client, project) == 0
    assert leases.claim_next(project=project, user=anna) is None
