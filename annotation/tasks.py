"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from config.celery import app


@shared_task(name="annotation.sweep_expired_leases")
def sweep_expired_leases() -> int:
    """Return items whose lease ran out to their queue (drafts kept)."""
    from annotation.services import expire_leases

    return expire_leases()


@app.on_after_configure.connect
def _schedule(sender: Any, **kwargs: Any) -> None:
    # Every minute: a lease ends at most a minute after its time.
    sender.add_periodic_task(60.0, sweep_expired_leases.s(), name="sweep expired leases")
