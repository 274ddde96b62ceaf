"""The one transition table, walked as a graph, and applied through ``transition``."""

from __future__ import annotations

from collections import deque

import pytest

from annotation.models import Transition
from annotation.services import InvalidTransition, transition
from annotation.states import INITIAL, TERMINAL, TRANSITIONS, State, targets
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


def test_every_state_can_reach_approved_or_flagged_and_terminal_states_are_terminal() -> None:
    for state in State.values:
        seen: set[str] = {state}
        todo: deque[str] = deque([state])
        while todo:
            for nxt in targets(todo.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & {State.APPROVED, State.FLAGGED}, state
    for state in TERMINAL:
        assert not targets(state)


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
