"""The export service: approved items out as JSONL that trainers accept as it is.

``create_export`` validates the options and records a job; ``build_export`` (run by a
Celery task, or in-process for the CLI) does the work in two phases:

1. **Snapshot**: one query fixes the list of revision ids to export, in item order, and
   stores it on the job. Items approved later are not in this export, not even half.
   A retried job (worker killed) reuses the stored snapshot, so it writes the same bytes.
2. **Stream**: the revisions are read in chunks of ``CHUNK`` ids (one bounded query per
   chunk, plain tuples rather than model instances), rendered by the format's writer,
   and written to local temporary files while their sha256 is computed. Only when the
   whole file exists is it saved through Django's storage and the job row updated in one
   UPDATE: no partial file is ever downloadable.

Same data and options give the same bytes, from the page, the API or ``export_dataset``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from core import jobs
from core.enqueue import enqueue
from core.models import JobStatus, move_job
from exports.build import NoRows, write_export
from exports.formats import PREFERENCE
from exports.models import ExportJob
from exports.options import has_pairs, has_rows, normalize_options, split_sides
from exports.split import TRAIN, VALIDATION
from projects.models import Project

log = logging.getLogger(__name__)

# A running job whose worker has shown no sign of life for this long is taken over.
# A build writes its heartbeat with every batch of rows; silent this long, it is resumed.
STALE_AFTER = dt.timedelta(minutes=2)

ERR_NOTHING = "No approved items match these options: there is nothing to export."
ERR_NO_PAIRS = (
    "No approved item matching these options can make a preference pair, so there is "
    "nothing to export: a pair needs a model draft the annotator corrected (a correct "
    "project: the draft is rejected, the correction chosen) or a review that picked one of "
    "several annotators' answers (overlap). Choose another format."
)
ERR_SPLIT_NO_VALIDATION = (
    "With validation share {validation} and seed {seed}, none of the {items} matching "
    "item(s) falls in validation, so validation.jsonl would be empty. Choose a larger "
    "validation share or another seed, or export one file (validation share 0)."
)
ERR_SPLIT_NO_TRAIN = (
    "With validation share {validation} and seed {seed}, all {items} matching item(s) fall "
    "in validation, so train.jsonl would be empty. Choose a smaller validation share or "
    "another seed, or export one file (validation share 0)."
)
ERR_NOT_READY = "This export has not finished: there is no file to download yet."


def create_export(*, project: Project, user: Any, options: dict[str, Any]) -> ExportJob:
    """Validate ``options`` and record an export job; its build starts after commit."""
    normalized = normalize_options(project=project, options=options)
    check_exportable(project, normalized)
    with transaction.atomic():
        job = ExportJob.objects.create(
            project=project,
            format=normalized["format"],
            options=normalized,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        enqueue("exports.build", job.pk)
    return job


def check_exportable(project: Project, options: dict[str, Any]) -> None:
    """Refuse, before any job exists, an export that would write an empty file: nothing
    selected, no preference pair possible, or a split with an empty side. Cheap queries
    that stop at the first match, never a trial export."""
    filters = options["filters"]
    if not has_rows(project, filters):
        raise ValidationError({"detail": ERR_NOTHING})
    pairs_only = options["format"] == PREFERENCE
    if pairs_only and not has_pairs(project, filters):
        raise ValidationError({"detail": ERR_NO_PAIRS})
    split = options["split"]
    if not split:
        return
    sides, items = split_sides(project, filters, split, pairs_only=pairs_only)
    for side, message in ((VALIDATION, ERR_SPLIT_NO_VALIDATION), (TRAIN, ERR_SPLIT_NO_TRAIN)):
        if side not in sides:
            raise ValidationError({"detail": message.format(items=items, **split)})


def _claim(job_id: int) -> ExportJob | None:
    """Start an attempt at the job; None when it is done, or another worker is building
    it and alive (core.jobs.claim)."""
    attempt = jobs.claim(ExportJob, job_id, message="")
    if attempt is None:
        return None
    return ExportJob.objects.get(pk=job_id)


def build_export(*, job_id: int) -> ExportJob | None:
    """Build the export's file. Safe to run again: a finished job is left alone, a job
    another live worker holds is left to it, and a retry reuses the stored snapshot."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        write_export(job)
    except Exception as exc:
        if isinstance(exc, NoRows):
            log.info("export %s gave no rows", job.pk)
        else:
            log.exception("export %s failed", job.pk)
        # Only this attempt's failure: a job another attempt took over, or one already
        # finished, keeps its own outcome.
        move_job(
            ExportJob,
            job.pk,
            source=(JobStatus.PENDING, JobStatus.RUNNING),
            to=JobStatus.FAILED,
            filters={"attempts": job.attempts},
            message=f"The export failed: {exc}",
        )
    job.refresh_from_db()
    return job


# --- reading -------------------------------------------------------------------------------


def download_name(job: ExportJob) -> str:
    suffix = "zip" if job.options.get("split") else "jsonl"
    return f"{job.project.slug}-{job.format}-export-{job.pk}.{suffix}"


def open_download(*, job: ExportJob, manifest: bool = False) -> IO[bytes]:
    """The finished export's file (or its manifest.json) opened for reading."""
    field = job.manifest_file if manifest else job.file
    if job.status != JobStatus.SUCCEEDED or not field:
        raise ValidationError({"detail": ERR_NOT_READY})
    return default_storage.open(field.name, "rb")


def export_to_path(*, project: Project, path: str | Path, options: dict[str, Any]) -> ExportJob:
    """Export in-process and copy the file to ``path`` (the command line's way): the same
    job, build and bytes as an export started from the page or the API."""
    normalized = normalize_options(project=project, options=options)
    check_exportable(project, normalized)
    job = ExportJob.objects.create(project=project, format=normalized["format"], options=normalized)
    built = build_export(job_id=job.pk)
    if built is None or built.status != JobStatus.SUCCEEDED:
        message = built.message if built else "The export did not run."
        raise ValidationError({"detail": message})
    with open_download(job=built) as src, open(path, "wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    return built
