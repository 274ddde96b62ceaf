"""Importing items: one set of rules for the Import page, the API and ``import_items``.

An import reads the whole file first (validation pass: every bad row is found and
reported with its line, field and a message), and only then writes, in one transaction.
By default a file with any invalid row creates nothing; ``skip_invalid`` imports the
valid rows and reports the rest. Rows whose external id already exists in the project
are counted and left alone, so re-importing a file creates nothing new. Exact duplicate
prompts (inside the file or against the project) are reported, and skipped on request.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction

from annotation.queues import route_imported_items
from core import jobs
from core.enqueue import enqueue
from core.models import FINISHED, JobStatus, move_job
from imports import formats
from imports.files import (
    EMPTY_FILE,
    FileProblem,
    Limits,
    Source,
    clean_head,
    csv_header,
    human_size,
    iter_csv,
    sniff_delimiter,
    upload_head,
)
from imports.models import ImportJob
from imports.pipeline import DELIMITED, detect_container, sniff_container
from imports.run import Run
from imports.writer import Cancelled
from projects.models import Project

logger = logging.getLogger(__name__)

FORMAT_CHOICES = ("auto", *formats.FORMATS)
UNKNOWN_FORMAT = "Unknown format {format!r}: choose one of " + ", ".join(FORMAT_CHOICES) + "."
NO_FILE = "Choose a file to import."
BAD_OPTION = "Unknown import option {name!r}."
BAD_OASST_MODE = "The OpenAssistant mode must be “paths” (one item per conversation path) or “prompts” (only the first prompt of each tree)."
BAD_COLUMNS = "The column mapping must map roles ({roles}) to column names."
NOT_CANCELLABLE = "This import has already finished."
NOT_RERUNNABLE = "Only a finished import can be re-run."
NOT_REMOVABLE = "Only a finished import can be removed; cancel it first."
CONFLICT = (
    "Another import added some of the same external ids while this one ran; nothing was "
    "imported. Run the import again."
)
INTERNAL = "The import stopped because of an internal error; nothing was imported."
CANCELLED = "The import was cancelled; nothing was imported."

OPTION_NAMES = {"columns", "delimiter", "oasst_mode", "source", "licence"}

User = AbstractBaseUser | AnonymousUser


def _check_options(format: str, options: dict[str, Any] | None) -> dict[str, Any]:
    if format not in FORMAT_CHOICES:
        raise ValidationError({"format": UNKNOWN_FORMAT.format(format=format)})
    options = dict(options or {})
    for name in options:
        if name not in OPTION_NAMES:
            raise ValidationError({"options": BAD_OPTION.format(name=name)})
    if options.get("oasst_mode", formats.OASST_PATHS) not in (
        formats.OASST_PATHS,
        formats.OASST_PROMPTS,
    ):
        raise ValidationError({"options": BAD_OASST_MODE})
    columns = options.get("columns")
    if columns is not None and not (
        isinstance(columns, dict)
        and all(k in formats.CSV_ROLES and isinstance(v, str) for k, v in columns.items())
    ):
        raise ValidationError({"options": BAD_COLUMNS.format(roles=", ".join(formats.CSV_ROLES))})
    if options.get("delimiter") not in (None, ",", "\t", ";", "|"):
        raise ValidationError({"options": "The delimiter must be a comma, tab, semicolon or bar."})
    for name in ("source", "licence"):
        if name in options and not isinstance(options[name], str):
            raise ValidationError({"options": f"{name} must be text."})
    return options


def create_import_job(
    *,
    project: Project,
    user: User | None,
    file: File[Any] | IO[bytes],
    filename: str = "",
    format: str = "auto",
    skip_invalid: bool = False,
    skip_duplicates: bool = False,
    options: dict[str, Any] | None = None,
    start: bool = True,
) -> ImportJob:
    """Store the upload as a new import job and (with ``start``) queue it.

    Refuses at once, before anything is stored, an unknown format or option, an empty
    file and a file over the size limit; everything else is found by the job and
    reported row by row.
    """
    options = _check_options(format, options)
    if file is None:
        raise ValidationError({"file": NO_FILE})
    upload = file if isinstance(file, File) else File(file)
    name = Path(filename or getattr(upload, "name", "") or "upload").name[:200]
    size = upload.size or 0
    limits = Limits.from_settings()
    if size == 0:
        raise ValidationError({"file": EMPTY_FILE})
    if size > limits.max_file_bytes:
        raise ValidationError(
            {
                "file": f"The file is {human_size(size)}; the largest file this instance accepts is {human_size(limits.max_file_bytes)}."
            }
        )
    _check_content(upload, name, format)
    with transaction.atomic():
        job = ImportJob(
            project=project,
            filename=name,
            format=format,
            options=options,
            skip_invalid=skip_invalid,
            skip_duplicates=skip_duplicates,
            size=size,
            created_by=_creator(user),
        )
        job.file.save(name, upload, save=False)
        job.save()
        if start:
            _enqueue(job)
    return job


def _check_content(upload: File[Any], name: str, format: str) -> None:
    """Refuse at once, by its first bytes, a file that is not text, or a file named
    ``.json``/``.jsonl`` that is not JSON (a blank or broken-gzip head is left to the job)."""
    try:
        head = upload_head(upload)
        if head is not None:
            sniff_container(clean_head(head), filename=name, chosen=format)
    except FileProblem as exc:
        raise ValidationError({"file": exc.message}) from None


def _creator(user: User | None) -> Any:
    return user if getattr(user, "pk", None) else None


def _enqueue(job: ImportJob) -> None:
    enqueue("imports.run", job.pk)


def start_import(*, job: ImportJob, options: dict[str, Any] | None = None) -> ImportJob:
    """Queue a job that was stored without starting (the CSV column mapping step)."""
    if job.status != JobStatus.PENDING:
        raise ValidationError(NOT_RERUNNABLE)
    if options is not None:
        job.options = _check_options(job.format, {**job.options, **options})
    job.phase = ""
    job.save(update_fields=["options", "phase"])
    _enqueue(job)
    return job


def rerun_import(
    *, job: ImportJob, user: User, skip_invalid: bool, skip_duplicates: bool | None = None
) -> ImportJob:
    """A new job over the same stored file, typically with ``skip_invalid``."""
    if not job.finished:
        raise ValidationError(NOT_RERUNNABLE)
    with transaction.atomic():
        again = ImportJob.objects.create(
            project=job.project,
            file=job.file.name,
            filename=job.filename,
            format=job.detected_format or job.format,
            options=job.options,
            skip_invalid=skip_invalid,
            skip_duplicates=job.skip_duplicates if skip_duplicates is None else skip_duplicates,
            size=job.size,
            rerun_of=job,
            created_by=_creator(user),
        )
        _enqueue(again)
    return again


def cancel_import(*, job: ImportJob) -> ImportJob:
    """Stop a job. A queued job stops at once; a running one at its next progress
    write, before anything is committed."""
    if job.finished:
        raise ValidationError(NOT_CANCELLABLE)
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    stopped = move_job(
        ImportJob,
        job.pk,
        source=JobStatus.PENDING,
        to=JobStatus.CANCELLED,
        message=CANCELLED,
        phase="",
    )
    job.refresh_from_db()
    if stopped:
        logger.info("import %s cancelled before it started", job.pk)
    return job


def delete_import(*, job: ImportJob) -> None:
    """Remove a finished, failed or cancelled job and its stored file (unless a re-run
    still reads it). The items it created stay; they no longer name their import."""
    name = job.file.name
    with transaction.atomic():
        deleted, _ = ImportJob.objects.filter(pk=job.pk, status__in=FINISHED).delete()
        if not deleted:
            raise ValidationError(NOT_REMOVABLE)
        shared = bool(name) and ImportJob.objects.filter(file=name).exists()
    if name and not shared:
        try:
            job.file.storage.delete(name)
        except OSError:  # the record is gone; a stray file is only disk space
            logger.warning("import %s: could not delete %s", job.pk, name)


def import_file(
    *,
    project: Project,
    path: str | Path,
    user: User | None,
    format: str = "auto",
    skip_invalid: bool = False,
    skip_duplicates: bool = False,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Import the file at ``path`` now, in this process, and return the finished job."""
    path = Path(path)
    with open(path, "rb") as handle:
        job = create_import_job(
            project=project,
            user=user,
            file=File(handle, name=path.name),
            filename=path.name,
            format=format,
            skip_invalid=skip_invalid,
            skip_duplicates=skip_duplicates,
            options=options,
            start=False,
        )
    run_import(job_id=job.pk)
    job.refresh_from_db()
    return job


def preview_file(*, job: ImportJob, rows: int = 5) -> dict[str, Any]:
    """What the column mapping step shows: the container, a CSV's header, its first rows
    and the columns guessed for each role.

    A file that cannot be read fails the (pending) job with the reason, and the reason
    is raised as a ``ValidationError``: the job page then shows it."""
    try:
        return _preview(job, rows)
    except FileProblem as exc:
        error = {"line": exc.line, "field": "", "message": exc.message}
        move_job(
            ImportJob,
            job.pk,
            source=JobStatus.PENDING,
            to=JobStatus.FAILED,
            message=exc.message,
            errors=[error],
            phase="",
        )
        job.refresh_from_db()
        raise ValidationError(exc.message) from None


def _preview(job: ImportJob, rows: int) -> dict[str, Any]:
    with _local_path(job) as path, Source(path, Limits.from_settings()) as source:
        container = detect_container(source, filename=job.filename, chosen=job.format)
        if container != DELIMITED:
            return {"container": container, "header": [], "rows": [], "columns": {}}
        delimiter = job.options.get("delimiter") or sniff_delimiter(source.head())
        header = csv_header(source, delimiter)
    with _local_path(job) as path, Source(path, Limits.from_settings()) as source:
        sample = []
        for _line, record in iter_csv(source, delimiter):
            if isinstance(record, dict):
                sample.append([record.get(h, "") for h in header])
            if len(sample) >= rows:
                break
    return {
        "container": container,
        "delimiter": delimiter,
        "header": header,
        "rows": sample,
        "columns": job.options.get("columns") or formats.guess_columns(header),
    }


# --- running a job -----------------------------------------------------------------------


@contextmanager
def _local_path(job: ImportJob) -> Iterator[Path]:
    """The stored file as a local path (copied down when the storage is remote)."""
    try:
        yield Path(job.file.path)
        return
    except NotImplementedError:
        pass
    with tempfile.NamedTemporaryFile(suffix=".import") as tmp:
        with job.file.open("rb") as remote:
            shutil.copyfileobj(remote, tmp, 1 << 20)
        tmp.flush()
        yield Path(tmp.name)


def run_import(*, job_id: int) -> None:
    """Run an import job to the end: validate every row, then write in one transaction.

    Safe to call twice for the same job (a redelivered task): a finished job is left
    alone, and nothing is committed until the very end.
    """
    if _claim(job_id) is None:
        return
    job = ImportJob.objects.select_related("project").get(pk=job_id)
    run = Run(job)
    try:
        with _local_path(job) as path, Source(path, Limits.from_settings()) as source:
            run.execute(source)
        if ImportJob.objects.filter(pk=job_id, status=JobStatus.SUCCEEDED).exists():
            route_imported_items(project=job.project, import_job_id=job_id)
    except FileProblem as exc:
        run.fail(exc.message, errors=[{"line": exc.line, "field": "", "message": exc.message}])
    except Cancelled:
        run.finish(JobStatus.CANCELLED, CANCELLED)
    except IntegrityError:
        run.fail(CONFLICT)
    except Exception:
        logger.exception("import %s failed", job_id)
        run.fail(INTERNAL)


def _claim(job_id: int) -> int | None:
    """Start an attempt at the job (core.jobs.claim); None when it is finished,
    cancelled, or running in a live worker. An attempt starts the file over: nothing
    is committed before the end."""
    return jobs.claim(
        ImportJob,
        job_id,
        filters={"cancel_requested": False},
        phase="validating",
        position=0,
    )


def written_so_far(job: ImportJob) -> int | None:
    """Rows written by a job in its writing phase (not visible in the row until commit)."""
    value = cache.get(f"import-written:{job.pk}")
    return int(value) if value is not None else None
