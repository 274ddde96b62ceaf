"""Background tasks of the overview app: ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from overview.bulk import run_bulk_job


@shared_task(name="overview.run_bulk", acks_late=True)
def run_bulk(job_id: int) -> None:
    run_bulk_job(job_id)
