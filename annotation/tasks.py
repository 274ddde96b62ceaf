"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from annotation.leases import expire_leases


@shared_task(name="annotation.sweep_expired_leases")
def sweep_expired_leases() -> int:
    """Return items whose lease ran out to their queue (drafts kept)."""
    return expire_leases()
