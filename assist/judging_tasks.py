"""Celery tasks of the judge: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from assist.judging import RUN_TASK
from assist.judging_run import run_judgement_job
from core.tasks import RETRY


@shared_task(name=RUN_TASK, **RETRY)
def run_judgement(job_id: int) -> None:
    run_judgement_job(job_id)
