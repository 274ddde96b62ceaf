"""Applying the transition table: the one way an item changes state.

:func:`transition` checks a move against :data:`annotation.states.TRANSITIONS`, applies it
as a compare-and-set update and appends the ``Transition`` history row.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from annotation.models import Item, Transition
from annotation.states import TRANSITIONS, can_move

_UNCHANGED: Any = object()


class InvalidTransition(ValueError):
    pass


def transition(
    item: Item,
    *,
    to: str,
    actor: User | AnonymousUser | None,
    reason: str = "",
    stage: int | None = _UNCHANGED,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move ``item`` from the state (and stage) the caller last read to ``to``.

    Compare-and-set: the update only applies while the row still has the state and
    stage held in ``item``; it returns ``False`` when someone else moved the item first,
    and the caller decides what that means. On success it appends one ``Transition``
    row in the same transaction and updates ``item`` in memory. Extra ``fields`` are
    written in the same UPDATE. Raises :class:`InvalidTransition` for a move the table
    does not allow.
    """
    from_state, from_stage = item.state, item.stage
    if not can_move(from_state, to):
        raise InvalidTransition(f"An item cannot go from {from_state} to {to}.")
    to_stage = from_stage if stage is _UNCHANGED else stage
    now = timezone.now()
    updates = {"state": to, "stage": to_stage, "state_changed_at": now, **fields}
    user = actor if isinstance(actor, User) else None
    # No savepoint inside a caller's transaction: if the history row cannot be written,
    # the caller's whole change rolls back with the move, never half of it.
    with transaction.atomic(savepoint=False):
        moved = Item.objects.filter(pk=item.pk, state=from_state, stage=from_stage).update(
            **updates
        )
        if not moved:
            return False
        Transition.objects.create(
            item=item,
            from_state=from_state,
            to_state=to,
            from_stage=from_stage,
            to_stage=to_stage,
            event=TRANSITIONS[(from_state, to)],
            actor=user,
            reason=reason,
            data=data or {},
            at=now,
        )
    for name, value in updates.items():
        setattr(item, name, value)
    return True
