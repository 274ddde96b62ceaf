"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from imports.services import run_import


@shared_task(name="imports.run", acks_late=True)
def run_import_task(job_id: int) -> None:
    run_import(job_id=job_id)
