"""The job transition table as a graph, and ``move_job`` as its one compare-and-set."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from core.models import FINISHED, JOB_TRANSITIONS, InvalidJobMove, JobStatus, move_job
from exports.models import ExportJob
from projects.models import Project


def _reachable(start: str) -> set[str]:
    seen = {start}
    todo = deque([start])
    while todo:
        for target in JOB_TRANSITIONS[todo.popleft()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _moves() -> list[tuple[str, str]]:
    return [(s, t) for s, targets in JOB_TRANSITIONS.items() for t in targets]


def _missing_moves() -> list[tuple[str, str]]:
    return [(s, t) for s in JobStatus.values for t in JobStatus.values if (s, t) not in _moves()]


def test_every_status_is_in_the_table_and_every_move_leads_to_one():
    assert set(JOB_TRANSITIONS) == set(JobStatus.values)
    for source, target in _moves():
        assert target in JOB_TRANSITIONS, (source, target)


def test_every_status_is_reachable_from_pending():
    assert _reachable(JobStatus.PENDING) == set(JobStatus.values)


def test_finished_statuses_have_no_moves():
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED} == FINISHED
    for status in FINISHED:
        assert JOB_TRANSITIONS[status] == frozenset(), status


def test_every_unfinished_status_can_reach_a_finished_one():
    for status in set(JobStatus.values) - FINISHED:
        assert _reachable(status) & FINISHED, status


@pytest.fixture
def job(project: Project) -> ExportJob:
    return ExportJob.objects.create(project=project, format="openai-chat", options={})


def _status(job: ExportJob) -> str:
    job.refresh_from_db(fields=["status"])
    return job.status


@pytest.mark.parametrize(("source", "target"), _moves())
def test_move_job_makes_every_move_of_the_table(job: ExportJob, source: str, target: str):
    ExportJob.objects.filter(pk=job.pk).update(status=source)
    assert move_job(ExportJob, job.pk, source=source, to=target)
    assert _status(job) == target


@pytest.mark.parametrize(("source", "target"), _missing_moves())
def test_move_job_refuses_a_move_the_table_lacks(job: ExportJob, source: str, target: str):
    ExportJob.objects.filter(pk=job.pk).update(status=source)
    with pytest.raises(InvalidJobMove):
        move_job(ExportJob, job.pk, source=source, to=target)
    assert _status(job) == source


def test_move_job_refuses_when_any_of_several_sources_lacks_the_move(job: ExportJob):
    with pytest.raises(InvalidJobMove):
        move_job(
            ExportJob, job.pk, source=(JobStatus.RUNNING, JobStatus.SUCCEEDED), to=JobStatus.FAILED
        )
    assert _status(job) == JobStatus.PENDING


def test_move_job_refuses_an_unknown_status(job: ExportJob):
    with pytest.raises(InvalidJobMove):
        move_job(ExportJob, job.pk, source="paused", to=JobStatus.RUNNING)


def test_of_two_moves_from_the_same_status_only_one_wins(job: ExportJob):
    """A worker claiming the job and a user cancelling it both saw it pending."""
    first = move_job(ExportJob, job.pk, source=JobStatus.PENDING, to=JobStatus.RUNNING)
    second = move_job(ExportJob, job.pk, source=JobStatus.PENDING, to=JobStatus.CANCELLED)
    assert (first, second) == (True, False)
    assert _status(job) == JobStatus.RUNNING


def test_two_workers_finishing_the_same_job_only_one_wins(job: ExportJob):
    move_job(ExportJob, job.pk, source=JobStatus.PENDING, to=JobStatus.RUNNING)
    wins = [
        move_job(ExportJob, job.pk, source=JobStatus.RUNNING, to=to, message=to)
        for to in (JobStatus.SUCCEEDED, JobStatus.FAILED)
    ]
    assert wins == [True, False]
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)


def test_move_job_sets_the_run_times_and_honours_filters(
    job: ExportJob, django_assert_num_queries: Any
):
    # UPDATE … status; UPDATE … started_at (first run only)
    with django_assert_num_queries(2):
        assert move_job(ExportJob, job.pk, source=JobStatus.PENDING, to=JobStatus.RUNNING)
    job.refresh_from_db()
    started = job.started_at
    assert started is not None and job.finished_at is None
    assert not move_job(
        ExportJob, job.pk, source=JobStatus.RUNNING, to=JobStatus.FAILED, filters={"attempts": 7}
    )
    with django_assert_num_queries(1):
        assert move_job(ExportJob, job.pk, source=JobStatus.RUNNING, to=JobStatus.PENDING)
    assert move_job(ExportJob, job.pk, source=JobStatus.PENDING, to=JobStatus.RUNNING)
    assert move_job(ExportJob, job.pk, source=JobStatus.RUNNING, to=JobStatus.SUCCEEDED)
    job.refresh_from_db()
    assert job.started_at == started  # a resumed job keeps its first start
    assert job.finished_at is not None
