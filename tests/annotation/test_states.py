"""The one transition table, walked as a graph, and applied through ``transition``."""

from __future__ import annotations

from collections import deque

import pytest

from annotation import leases, services
from annotation.models import Transition
from annotation.states import INITIAL, TERMINAL, TRANSITIONS, State, targets
from annotation.transitions import InvalidTransition, transition
from tests.factories import make_item


def test_every_state_is_reachable_from_the_initial_state() -> None:
    seen: set[str] = {INITIAL}
    todo: deque[str] = deque([INITIAL])
    while todo:
        for nxt in targets(todo.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(State.values)


def test_every_state_can_reach_approved_or_flagged_and_none_is_a_dead_end() -> None:
    for state in State.values:
        seen: set[str] = {state}
        todo: deque[str] = deque([state])
        while todo:
            for nxt in targets(todo.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & {State.APPROVED, State.FLAGGED}, state
        assert targets(state), state  # an admin can reopen approved and unflag flagged
    assert frozenset() == TERMINAL


@pytest.mark.django_db
@pytest.mark.parametrize(("frm", "to"), sorted(TRANSITIONS))
def test_each_allowed_move_applies_once_and_leaves_one_history_row(project, anna, frm, to):
    item = make_item(project, state=frm, stage=0 if frm == State.IN_REVIEW else None)
    stale = make_item(project, state=frm)
    stale.pk = item.pk  # a second reader holding the same old state
    assert transition(item, to=to, actor=anna, reason="walk") is True
    row = Transition.objects.get(item=item)
    assert (row.from_state, row.to_state, row.event, row.actor) == (
        frm,
        to,
        TRANSITIONS[(frm, to)],
        anna,
    )
    if frm != to:  # the second writer finds the state changed: compare-and-set refuses
        stale.stage = item.stage
        stale.state = frm
        assert transition(stale, to=to, actor=anna) is False
        assert Transition.objects.filter(item=item).count() == 1


@pytest.mark.django_db
def test_a_move_outside_the_table_is_refused(project, anna) -> None:
    item = make_item(project, state=State.QUEUED)
    with pytest.raises(InvalidTransition):
        transition(item, to=State.APPROVED, actor=anna)
    assert not Transition.objects.filter(item=item).exists()


def _flagged(project, anna):
    item = make_item(project)
    assignment = leases.claim_next(project=project, user=anna)
    assert assignment is not None
    services.flag(item=assignment.item, user=anna, category="duplicate")
    item.refresh_from_db()
    return item


# The edges only a project admin takes, each driven through the service that takes it.
ADMIN_EDGES = {
    (State.APPROVED, State.SUBMITTED): (
        services.reopen,
        lambda project, anna: make_item(project, answer="Yes.", state=State.APPROVED, stage=0),
    ),
    (State.FLAGGED, State.QUEUED): (services.unflag, _flagged),
}


@pytest.mark.django_db
@pytest.mark.parametrize("edge", sorted(ADMIN_EDGES))
def test_the_admin_edges_are_taken_by_their_services(project, alice, anna, edge) -> None:
    action, make = ADMIN_EDGES[edge]
    item = make(project, anna)
    before = Transition.objects.filter(item=item).count()
    action(item=item, actor=alice, reason="Second thoughts.")
    row = Transition.objects.filter(item=item).order_by("-id")[0]
    assert Transition.objects.filter(item=item).count() == before + 1
    assert (row.from_state, row.to_state) == edge
    assert (row.event, row.reason, row.actor) == (TRANSITIONS[edge], "Second thoughts.", alice)
