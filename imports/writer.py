"""Writing an import's rows: spooled while the file is validated, then written in one
go: COPY on PostgreSQL (streamed on a second connection while validation goes on, when
it can), large INSERT batches elsewhere. Nothing is visible until the whole file passed.
"""

from __future__ import annotations

import operator
import pickle
import queue
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import IO, Any

import orjson
import psycopg
from django.db import IntegrityError, connection
from django.utils import timezone
from psycopg.types.json import Jsonb

from annotation.models import Item
from annotation.states import State
from core.models import JOB_TRANSITIONS, InvalidJobMove, JobStatus
from imports.models import ImportJob
from projects.models import TaskType

ANSWER_TO_DRAFT = {TaskType.CORRECT, TaskType.CONVERSATION}


class Cancelled(Exception):
    """The import was cancelled while it ran: nothing is committed."""


def _as_text(value: Any) -> Any:
    """JSON goes into the database as text: SQLite's JSON functions refuse blobs."""
    return value.decode() if isinstance(value, bytes) else value


def json_bytes(value: Any) -> bytes:
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
        return _copy_escape(json_bytes(value)).decode()
    return _copy_escape(str(value).encode()).decode()


class Writer:
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


class NullSink:
    """Where rows go once the import is known to write nothing."""

    def write(self, block: bytes) -> None:
        pass


_ABORT = b""


class CopyStream:
    """A COPY on its own connection, fed from a small bounded queue by the validating
    loop. Nothing is visible to anyone until :meth:`commit`; anything else rolls back."""

    QUEUE_BLOCKS = 4  # one block is one batch of rows (a few MB)

    def __init__(self, writer: Writer, job_id: int) -> None:
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
                        raise Cancelled
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
        if self.error is not None and not isinstance(self.error, Cancelled):
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
        """End the COPY, record the job's outcome in the same transaction, commit.

        The outcome is a move of the job table made on this connection, compare-and-set
        as ``move_job`` makes it: a job no longer running commits nothing."""
        if outcome["status"] not in JOB_TRANSITIONS[JobStatus.RUNNING]:
            raise InvalidJobMove(f"A job cannot go from running to {outcome['status']}.")
        self._put(None)
        self.thread.join()
        self._raise()
        qn = connection.ops.quote_name
        names = list(outcome)
        columns = {f.name: f.column for f in ImportJob._meta.concrete_fields}
        sets = ", ".join(f"{qn(columns[n])} = %s" for n in names)
        values = [Jsonb(outcome[n]) if n == "errors" else outcome[n] for n in names]
        status = qn(columns["status"])
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {qn(ImportJob._meta.db_table)} SET {sets} "  # noqa: S608
                f"WHERE id = %s AND {status} = %s",
                [*values, self.job_id, JobStatus.RUNNING.value],
            )
            moved = cursor.rowcount == 1
        if not moved:
            raise Cancelled  # rolled back by __exit__: someone else finished the job
        self.conn.commit()
        self.closed = True
        self.conn.close()

    def __enter__(self) -> CopyStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
