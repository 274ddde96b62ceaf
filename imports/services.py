"""Importing items: one set of rules for the Import page, the API and ``import_items``.

An import reads the whole file first (validation pass: every bad row is found and
reported with its line, field and a message), and only then writes, in one transaction.
By default a file with any invalid row creates nothing; ``skip_invalid`` imports the
valid rows and reports the rest. Rows whose external id already exists in the project
are counted and left alone, so re-importing a file creates nothing new. Exact duplicate
prompts (inside the file or against the project) are reported, and skipped on request.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import pickle
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from annotation.messages import prompt_hash
from annotation.models import Item
from annotation.services import route_imported_items
from annotation.states import State
from core.enqueue import enqueue
from core.models import JobStatus
from imports import formats
from imports.files import (
    EMPTY_FILE,
    FileProblem,
    Limits,
    RowError,
    Source,
    csv_header,
    human_size,
    iter_csv,
    sniff_delimiter,
)
from imports.models import ImportJob
from imports.pipeline import (
    DELIMITED,
    Plan,
    Row,
    detect_container,
    iter_rows,
    plan_file,
)
from projects.models import Project, TaskType

logger = logging.getLogger(__name__)

FORMAT_CHOICES = ("auto", *formats.FORMATS)
UNKNOWN_FORMAT = "Unknown format {format!r}: choose one of " + ", ".join(FORMAT_CHOICES) + "."
NO_FILE = "Choose a file to import."
BAD_OPTION = "Unknown import option {name!r}."
BAD_OASST_MODE = "The OpenAssistant mode must be “paths” (one item per conversation path) or “prompts” (only the first prompt of each tree)."
BAD_COLUMNS = "The column mapping must map roles ({roles}) to column names."
NOT_CANCELLABLE = "This import has already finished."
NOT_RERUNNABLE = "Only a finished import can be re-run."
INVALID_ROWS = (
    "{invalid:,} of {total:,} rows are invalid, so nothing was imported. Fix them and upload "
    "the file again, or re-run the import skipping invalid rows."
)
NO_VALID_ROWS = "None of the rows can be imported; nothing was imported."
NO_ROWS = "The file has no rows to import."
ID_TWICE = "The external id {id!r} appears more than once in this file."
CONFLICT = (
    "Another import added some of the same external ids while this one ran; nothing was "
    "imported. Run the import again."
)
INTERNAL = "The import stopped because of an internal error; nothing was imported."
CANCELLED = "The import was cancelled; nothing was imported."

OPTION_NAMES = {"columns", "delimiter", "oasst_mode", "source", "licence"}
ERROR_CAP = 10_000  # rows listed in the report; the counts are always complete
BATCH = 5_000
PROGRESS_EVERY = 0.5  # seconds between progress writes
ANSWER_TO_DRAFT = {TaskType.CORRECT, TaskType.CONVERSATION}

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
    user: User,
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


def _creator(user: User) -> Any:
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
    stopped = ImportJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, message=CANCELLED, finished_at=timezone.now(), phase=""
    )
    job.refresh_from_db()
    if stopped:
        logger.info("import %s cancelled before it started", job.pk)
    return job


def import_file(
    *,
    project: Project,
    path: str | Path,
    user: User,
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
    and the columns guessed for each role."""
    with _local_path(job) as path, Source(path, Limits.from_settings()) as source:
        container = detect_container(source)
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


class _Cancelled(Exception):
    pass


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
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING], cancel_requested=False
    ).update(status=JobStatus.RUNNING, started_at=timezone.now(), phase="validating", position=0)
    if not claimed:
        return
    job = ImportJob.objects.select_related("project").get(pk=job_id)
    run = _Run(job)
    try:
        with _local_path(job) as path, Source(path, Limits.from_settings()) as source:
            run.execute(source)
        if ImportJob.objects.filter(pk=job_id, status=JobStatus.SUCCEEDED).exists():
            route_imported_items(project=job.project, import_job_id=job_id)
    except FileProblem as exc:
        run.fail(exc.message, errors=[{"line": exc.line, "field": "", "message": exc.message}])
    except _Cancelled:
        run.finish(JobStatus.CANCELLED, CANCELLED)
    except IntegrityError:
        run.fail(CONFLICT)
    except Exception:
        logger.exception("import %s failed", job_id)
        run.fail(INTERNAL)


def written_so_far(job: ImportJob) -> int | None:
    """Rows written by a job in its writing phase (not visible in the row until commit)."""
    value = cache.get(f"import-written:{job.pk}")
    return int(value) if value is not None else None


class _Run:
    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.project = job.project
        self.errors: list[dict[str, Any]] = []
        self.total = self.valid = self.invalid = self.duplicates = self.existing = 0
        self.to_write = 0
        self.last_progress = time.monotonic()
        self.seen_hashes: set[int] = set()
        self.seen_ids: set[int] = set()
        self.project_hashes: set[int] = set()

    # progress and outcome -------------------------------------------------------------

    def _counts(self) -> dict[str, int]:
        return {
            "total": self.total,
            "valid": self.valid,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "existing": self.existing,
        }

    def progress(self, source: Source, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_EVERY:
            return
        self.last_progress = now
        ImportJob.objects.filter(pk=self.job.pk).update(
            position=source.position(), **self._counts()
        )
        if self._cancel_requested():
            raise _Cancelled

    def _cancel_requested(self) -> bool:
        return ImportJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    def outcome(self, status: str, message: str, **extra: Any) -> dict[str, Any]:
        return {
            "status": status,
            "message": message,
            "phase": "",
            "errors": self.errors,
            "finished_at": timezone.now(),
            **self._counts(),
            **extra,
        }

    def finish(self, status: str, message: str, **extra: Any) -> None:
        ImportJob.objects.filter(pk=self.job.pk).update(**self.outcome(status, message, **extra))
        cache.delete(f"import-written:{self.job.pk}")

    def fail(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        if errors is not None:
            self.errors = errors + self.errors
        self.finish(JobStatus.FAILED, message, created=0)

    def reject(self, line: int, error: RowError) -> None:
        self.invalid += 1
        if len(self.errors) < ERROR_CAP:
            self.errors.append({"line": line, "field": error.field, "message": error.message})

    # the two passes ---------------------------------------------------------------------

    def execute(self, source: Source) -> None:
        job = self.job
        limits = source.limits
        plan, records = plan_file(source, job.format, job.options)
        self.writer = _Writer(job)
        ImportJob.objects.filter(pk=job.pk).update(
            detected_format=plan.format, options=plan.options
        )
        items = Item.objects.filter(project=self.project)
        self.project_hashes = {
            _short(h)
            for h in items.exclude(prompt_hash="")
            .values_list("prompt_hash", flat=True)
            .iterator(chunk_size=10_000)
        }
        # Items made without a fingerprint (by hand, by other tools) still count.
        for messages in (
            items.filter(prompt_hash="").values_list("source", flat=True).iterator(chunk_size=2_000)
        ):
            if isinstance(messages, list) and all(
                isinstance(m, dict) and "role" in m and "content" in m for m in messages
            ):
                self.project_hashes.add(_short(prompt_hash(messages)))
        # On PostgreSQL (outside an enclosing transaction) rows stream into COPY on a
        # second connection while the rest of the file is still being checked; that
        # transaction commits only if the whole file passes, and is rolled back otherwise.
        streaming = self.writer.copy and not connection.in_atomic_block
        with (
            tempfile.TemporaryFile() as spool,
            _CopyStream(self.writer, job.pk) if streaming else nullcontext() as stream,
        ):
            sink: Any = stream or spool
            pending: list[Row] = []
            for line, row in iter_rows(records, plan, field_limit=limits.max_field_bytes):
                self.total += 1
                if isinstance(row, RowError):
                    self.reject(line, row)
                    if not job.skip_invalid and not isinstance(sink, _NullSink):
                        if stream is not None:
                            stream.abort()
                        sink = _NullSink()  # nothing will be written; keep checking
                elif row.external_id is not None and _short(row.external_id) in self.seen_ids:
                    self.reject(
                        line, RowError(ID_TWICE.format(id=row.external_id), field="external_id")
                    )
                else:
                    if row.external_id is not None:
                        self.seen_ids.add(_short(row.external_id))
                    self.valid += 1
                    pending.append(row)
                    if len(pending) >= BATCH:
                        self.sort(pending, sink, plan)
                        pending = []
                self.progress(source)
            self.sort(pending, sink, plan)
            self.progress(source, force=True)
            self.seen_hashes.clear()
            self.project_hashes.clear()
            if self.total == 0:
                raise FileProblem(NO_ROWS)
            if self.invalid and not job.skip_invalid:
                self.fail(INVALID_ROWS.format(invalid=self.invalid, total=self.total))
                return
            if self.valid == 0:
                self.fail(NO_VALID_ROWS)
                return
            message = self.summary(self.to_write)
            if stream is None:
                spool.seek(0)
                self.write(spool, message)
                return
            ImportJob.objects.filter(pk=job.pk).update(phase="writing")
            if self._cancel_requested():
                raise _Cancelled
            stream.commit(self.outcome(JobStatus.SUCCEEDED, message, created=self.to_write))
            cache.delete(f"import-written:{job.pk}")

    def summary(self, created: int) -> str:
        parts = [f"Imported {_n(created, 'item')}"]
        if self.existing:
            parts.append(f"{self.existing:,} already in the project (same external id)")
        if self.duplicates:
            verb = "skipped" if self.job.skip_duplicates else "imported anyway"
            parts.append(f"{_n(self.duplicates, 'duplicate prompt')} {verb}")
        if self.invalid:
            parts.append(f"{_n(self.invalid, 'invalid row')} skipped")
        return "; ".join(parts) + "."

    def sort(self, rows: list[Row], spool: Any, plan: Plan) -> None:
        """Set aside rows already in the project and duplicates; spool the rest."""
        if not rows:
            return
        ids = [r.external_id for r in rows if r.external_id is not None]
        present = (
            set(
                Item.objects.filter(project=self.project, external_id__in=ids).values_list(
                    "external_id", flat=True
                )
            )
            if ids
            else set()
        )
        keep = []
        defaults = {
            k: self.job.options[k] for k in ("source", "licence") if self.job.options.get(k)
        }
        for row in rows:
            if row.external_id in present:
                self.existing += 1
                continue
            short = _short(row.prompt_hash)
            if short in self.seen_hashes or short in self.project_hashes:
                self.duplicates += 1
                if self.job.skip_duplicates:
                    continue
            self.seen_hashes.add(short)
            metadata = {**defaults, **row.metadata} if defaults else row.metadata
            metadata.setdefault("format", plan.format)
            keep.append(
                (
                    row.external_id,
                    _json(row.source),
                    row.answer,
                    _json(metadata) if metadata else b"{}",
                    _json(row.tags) if row.tags else b"[]",
                    row.priority,
                    row.prompt_hash,
                )
            )
        self.to_write += len(keep)
        self.writer.spool(keep, spool)

    def write(self, spool: IO[bytes], message: str) -> int:
        ImportJob.objects.filter(pk=self.job.pk).update(phase="writing")
        key = f"import-written:{self.job.pk}"
        with transaction.atomic():
            # No query may run while COPY streams, so cancelling is checked between
            # INSERT batches, and once more before the commit.
            for created in self.writer.write(spool):
                cache.set(key, created, 3600)
                if not self.writer.copy and self._cancel_requested():
                    raise _Cancelled
            if self._cancel_requested():
                raise _Cancelled
            self.finish(JobStatus.SUCCEEDED, message, created=self.to_write)
        return self.to_write


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _short(value: str) -> int:
    """A 64-bit fingerprint: enough to tell a million prompts or ids apart in little memory."""
    if len(value) == 64:  # already a sha256 hex digest
        return int(value[:16], 16)
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _as_text(value: Any) -> Any:
    """JSON goes into the database as text: SQLite's JSON functions refuse blobs."""
    return value.decode() if isinstance(value, bytes) else value


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _copy_escape(value: bytes) -> bytes:
    """A value in PostgreSQL's COPY text format."""
    return (
        value.replace(b"\\", b"\\\\")
        .replace(b"\t", b"\\t")
        .replace(b"\n", b"\\n")
        .replace(b"\r", b"\\r")
    )


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, dict | list):
        return _copy_escape(_json(value)).decode()
    return _copy_escape(str(value).encode()).decode()


class _Writer:
    """Spools rows while the file is validated, then writes them: COPY on PostgreSQL
    (rows spooled already in COPY text form, so writing is a byte stream), large INSERT
    batches elsewhere."""

    PER_ROW = ("external_id", "source", "answer", "metadata", "tags", "priority", "prompt_hash")

    def __init__(self, job: ImportJob) -> None:
        now = timezone.now()
        to_draft = job.project.task_type in ANSWER_TO_DRAFT
        answer_column = "model_draft" if to_draft else "reference"
        fixed: dict[str, Any] = {
            "project": job.project_id,
            "import_job": job.pk,
            "state": State.QUEUED,
            "created_at": now,
            "state_changed_at": now,
            "reference" if to_draft else "model_draft": "",
        }
        self.copy = connection.vendor == "postgresql"
        self.fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.table = Item._meta.db_table
        # Each column is either a slot of the spooled tuple or a value fixed for the job.
        self.layout: list[tuple[int, Any]] = []
        for f in self.fields:
            name = "answer" if f.name == answer_column else f.name
            if name in self.PER_ROW:
                self.layout.append((self.PER_ROW.index(name), None))
            elif name in fixed:
                self.layout.append((-1, fixed[name]))
            else:
                self.layout.append((-1, f.get_default()))
        if self.copy:
            kinds = {"priority": b"%d"}
            parts = [
                kinds.get(self.PER_ROW[slot], b"%s")
                if slot >= 0
                else _copy_value(value).encode().replace(b"%", b"%%")
                for slot, value in self.layout
            ]
            self.pick = operator.itemgetter(*[slot for slot, _ in self.layout if slot >= 0])
            self.line = b"\t".join(parts) + b"\n"
        else:
            self.prepared = [
                (slot, f.get_db_prep_save(value, connection) if slot < 0 else None)
                for f, (slot, value) in zip(self.fields, self.layout, strict=True)
            ]

    def spool(self, batch: list[tuple[Any, ...]], spool: Any) -> None:
        if not batch:
            return
        if not self.copy:
            pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
            return
        line = self.line
        esc = _copy_escape
        pick = self.pick
        spool.write(
            b"".join(
                line
                % pick(
                    (
                        b"\\N" if external_id is None else esc(external_id.encode()),
                        esc(source),
                        esc(answer.encode()) if answer else b"",
                        esc(metadata),
                        esc(tags),
                        priority,
                        fingerprint.encode(),
                    )
                )
                for external_id, source, answer, metadata, tags, priority, fingerprint in batch
            )
        )

    def copy_sql(self) -> str:
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in self.columns)
        return f"COPY {qn(self.table)} ({columns}) FROM STDIN"

    def write(self, spool: IO[bytes]) -> Iterator[int]:
        """Write everything spooled; yields the rows (COPY: bytes) written so far."""
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in self.columns)
        with connection.cursor() as cursor:
            if self.copy:
                sql = self.copy_sql()
                done = 0
                with cursor.cursor.copy(sql) as copy:
                    while chunk := spool.read(1 << 20):
                        copy.write(chunk)
                        done += chunk.count(b"\n")
                        yield done
                return
            marks = ", ".join(["%s"] * len(self.columns))
            sql = f"INSERT INTO {qn(self.table)} ({columns}) VALUES ({marks})"  # noqa: S608
            done = 0
            while True:
                try:
                    batch = pickle.load(spool)  # noqa: S301  (our own spool file)
                except EOFError:
                    return
                rows = [
                    [
                        _as_text(
                            value if slot < 0 else (row[slot] if slot != 2 else row[slot] or "")
                        )
                        for slot, value in self.prepared
                    ]
                    for row in batch
                ]
                cursor.executemany(sql, rows)
                done += len(rows)
                yield done


class _NullSink:
    """Where rows go once the import is known to write nothing."""

    def write(self, block: bytes) -> None:
        pass


_ABORT = b""


class _CopyStream:
    """A COPY on its own connection, fed from a small bounded queue by the validating
    loop. Nothing is visible to anyone until :meth:`commit`; anything else rolls back."""

    QUEUE_BLOCKS = 4  # one block is one batch of rows (a few MB)

    def __init__(self, writer: _Writer, job_id: int) -> None:
        self.job_id = job_id
        self.sql = writer.copy_sql()
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.QUEUE_BLOCKS)
        self.error: BaseException | None = None
        self.closed = False
        self.conn = connection.get_new_connection(connection.get_connection_params())
        self.thread = threading.Thread(target=self._run, name="import-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.conn.cursor() as cursor:
                # Foreign keys are checked at the end of each COPY instead of all at once
                # at the commit: each block is its own COPY, so its checks run while the
                # next block is still being read and validated.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                while (block := self.queue.get()) is not None:
                    if block is _ABORT:
                        raise _Cancelled
                    with cursor.copy(self.sql) as copy:
                        copy.write(block)
        except BaseException as exc:
            self.error = exc
            while not self.queue.empty():  # unblock a waiting producer
                self.queue.get_nowait()

    def _put(self, block: bytes | None) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(block, timeout=0.5)
                return
            except queue.Full:
                continue
        self._raise()

    def _raise(self) -> None:
        if isinstance(self.error, psycopg.IntegrityError):
            raise IntegrityError(str(self.error)) from self.error
        if self.error is not None and not isinstance(self.error, _Cancelled):
            raise self.error

    def write(self, block: bytes) -> None:
        if block:
            self._put(block)

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.thread.is_alive():
            with suppress(queue.Full):
                self.queue.put(_ABORT, timeout=5)
        self.thread.join(timeout=30)
        try:
            self.conn.rollback()
        finally:
            self.conn.close()

    def commit(self, outcome: dict[str, Any]) -> None:
        """End the COPY, record the job's outcome in the same transaction, commit."""
        self._put(None)
        self.thread.join()
        self._raise()
        qn = connection.ops.quote_name
        names = list(outcome)
        columns = {f.name: f.column for f in ImportJob._meta.concrete_fields}
        sets = ", ".join(f"{qn(columns[n])} = %s" for n in names)
        values = [Jsonb(outcome[n]) if n == "errors" else outcome[n] for n in names]
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {qn(ImportJob._meta.db_table)} SET {sets} WHERE id = %s",  # noqa: S608
                [*values, self.job_id],
            )
        self.conn.commit()
        self.closed = True
        self.conn.close()

    def __enter__(self) -> _CopyStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
