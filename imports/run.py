"""One import's run over its file: every row checked (the validation pass), counted and
sorted (invalid, already in the project, duplicate), and the rest handed to the writer.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from contextlib import nullcontext
from typing import IO, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from annotation.messages import prompt_hash
from annotation.models import Item
from core import jobs
from core.models import JobStatus, move_job
from imports.files import FileProblem, RowError, Source
from imports.models import ImportJob
from imports.pipeline import Plan, Row, iter_rows, plan_file
from imports.writer import Cancelled, CopyStream, NullSink, Writer, json_bytes

INVALID_ROWS = (
    "{invalid:,} of {total:,} rows are invalid, so nothing was imported. Fix them and upload "
    "the file again, or re-run the import skipping invalid rows."
)
NO_VALID_ROWS = "None of the rows can be imported; nothing was imported."
NO_ROWS = "The file has no rows to import."
ID_TWICE = "The external id {id!r} appears more than once in this file."

ERROR_CAP = 10_000  # rows listed in the report; the counts are always complete
BATCH = 5_000
PROGRESS_EVERY = 0.5  # seconds between progress writes


class Run:
    """The state of one import while it runs: counts, the error report, fingerprints."""

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
            position=source.position(), heartbeat_at=timezone.now(), **self._counts()
        )
        if self._cancel_requested():
            raise Cancelled

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
        """Record the outcome, if the job is still running (a finished job keeps its own)."""
        fields = self.outcome(status, message, **extra)
        move_job(
            ImportJob, self.job.pk, source=JobStatus.RUNNING, to=fields.pop("status"), **fields
        )
        cache.delete(f"import-written:{self.job.pk}")
        jobs.forget(ImportJob, self.job.pk)

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
        plan, records = plan_file(source, job.format, job.options, filename=job.filename)
        self.writer = Writer(job)
        ImportJob.objects.filter(pk=job.pk).update(
            detected_format=plan.format, options=plan.options
        )
        self.project_hashes = self._project_hashes()
        # On PostgreSQL (outside an enclosing transaction) rows stream into COPY on a
        # second connection while the rest of the file is still being checked; that
        # transaction commits only if the whole file passes, and is rolled back otherwise.
        streaming = self.writer.copy and not connection.in_atomic_block
        with (
            tempfile.TemporaryFile() as spool,
            CopyStream(self.writer, job.pk) if streaming else nullcontext() as stream,
        ):
            sink: Any = stream or spool
            pending: list[Row] = []
            for line, row in iter_rows(records, plan, field_limit=limits.max_field_bytes):
                self.total += 1
                if isinstance(row, RowError):
                    self.reject(line, row)
                    if not job.skip_invalid and not isinstance(sink, NullSink):
                        if stream is not None:
                            stream.abort()
                        sink = NullSink()  # nothing will be written; keep checking
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
            self.conclude(spool, stream)

    def _project_hashes(self) -> set[int]:
        """Fingerprints of the prompts already in the project."""
        items = Item.objects.filter(project=self.project)
        hashes = {
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
                hashes.add(_short(prompt_hash(messages)))
        return hashes

    def conclude(self, spool: IO[bytes], stream: CopyStream | None) -> None:
        """After the validation pass: fail the import, or write (or commit) its rows."""
        job = self.job
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
            raise Cancelled
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
                    json_bytes(row.source),
                    row.answer,
                    json_bytes(metadata) if metadata else b"{}",
                    json_bytes(row.tags) if row.tags else b"[]",
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
                # The rows' transaction hides heartbeats until it commits: say so in the cache.
                jobs.touch(ImportJob, self.job.pk)
                if not self.writer.copy and self._cancel_requested():
                    raise Cancelled
            if self._cancel_requested():
                raise Cancelled
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
