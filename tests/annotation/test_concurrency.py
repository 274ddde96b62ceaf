"""32 annotators claiming at once on PostgreSQL: nobody gets an item twice and no item
gets more annotators than its overlap."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from annotation import leases, queues
from annotation.models import Assignment, AssignmentStatus, Item
from annotation.states import State
from projects import services as project_services
from projects.models import Role
from tests.services import require_postgres

pytestmark = pytest.mark.django_db(transaction=True)

CLAIMERS = 32
ITEMS = 1000


@pytest.mark.parametrize("overlap", [1, 3])
def test_32_concurrent_claimers_never_double_or_over_assign(alice, overlap) -> None:
    require_postgres()
    project = project_services.create_project(creator=alice, name="Load", slug=f"load-{overlap}")
    project.overlap = overlap
    project.max_leases = 1000
    project.save(update_fields=["overlap", "max_leases"])
    users = [
        get_user_model().objects.create_user(username=f"claimer{n}", password="x")
        for n in range(CLAIMERS)
    ]
    for user in users:
        project_services.set_member(project=project, username=user.username, role=Role.ANNOTATOR)
    Item.objects.bulk_create(
        Item(project=project, source=[{"role": "user", "content": f"prompt {n}"}])
        for n in range(ITEMS)
    )
    queues.default_queue(project)
    barrier = threading.Barrier(CLAIMERS)
    taken: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(user) -> None:
        try:
            barrier.wait()
            while True:
                assignment = leases.claim_next(project=project, user=user)
                if assignment is None:
                    return
                with lock:
                    taken.append((assignment.item_id, user.pk))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    pairs = Counter(taken)
    per_item = Counter(item for item, _ in taken)
    assert max(pairs.values()) == 1  # nobody got the same item twice
    assert len(taken) == ITEMS * overlap  # every place filled
    assert set(per_item.values()) == {overlap}  # no item over its overlap
    db_counts = Counter(
        Assignment.objects.filter(
            item__project=project, status=AssignmentStatus.ACTIVE
        ).values_list("item_id", flat=True)
    )
    assert set(db_counts.values()) == {overlap} and len(db_counts) == ITEMS
    assert not Item.objects.filter(project=project).exclude(claims=overlap).exists()
    assert not Item.objects.filter(project=project).exclude(state=State.IN_PROGRESS).exists()
    assert connection.vendor == "postgresql"
