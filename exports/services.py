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
import hashlib
import logging
import os
import queue
import sys
import tempfile
import threading
import time
import zipfile
from array import array
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from checks.models import CheckResult
from core.enqueue import enqueue
from core.models import JobStatus
from exports import card
from exports.formats import (
    FORMATS,
    PREFERENCE,
    PROMPT_COMPLETION,
    WRITERS,
    Record,
    RenderOptions,
    answer_text,
    dumps,
    escape_line_separators,
    lengths,
    metadata,
)
from exports.models import ExportJob
from exports.split import (
    TRAIN,
    VALIDATION,
    Deduplicator,
    split_key,
    validation_picker,
)
from projects.models import Guideline, Membership, Project
from reviews.models import Decision, Review

log = logging.getLogger(__name__)

# Rows read per query: bounds the exporter's memory. EXPORT_CHUNK_ROWS overrides it.
CHUNK = max(1, int(os.environ.get("EXPORT_CHUNK_ROWS", "5000")))
# A running job whose worker has shown no sign of life for this long is taken over.
STALE_AFTER = dt.timedelta(minutes=2)

ERR_FORMAT = "Choose a format: " + ", ".join(FORMATS) + "."
ERR_VALIDATION = "The validation share must be a number between 0 and 0.5 (e.g. 0.1)."
ERR_SEED = "The split seed must be a whole number."
ERR_SPLIT = 'The split must be {"validation": 0.1, "seed": 42} or null.'
ERR_BOOL = "{name} must be true or false."
ERR_TEXT = "{name} must be text."
ERR_TEMPLATE = "The prompt template must contain {prompt}, where the prompt goes."
ERR_PROMPT_COMPLETION_ONLY = (
    "Template, completion prefix, separator and stop apply only to the prompt-completion format."
)
ERR_TAGS = "Tags must be a list of words."
ERR_STAGE = "The review stage must be a whole number, 0 for the first stage."
ERR_DATE = "Dates must be written as YYYY-MM-DD."
ERR_DATE_ORDER = "The start date must not be after the end date."
ERR_ANNOTATOR = "No member of this project is called “{name}”."
ERR_UNKNOWN = "Unknown option(s): {names}."
ERR_NOTHING = "No approved items match these options: there is nothing to export."
ERR_NOT_READY = "This export has not finished: there is no file to download yet."

FILTER_KEYS = ("tags", "stage", "approved_from", "approved_to", "annotator")
PROMPT_COMPLETION_KEYS = ("template", "completion_prefix", "separator", "stop")
OPTION_KEYS = (
    "format",
    "split",
    "dedup",
    "include_metadata",
    "system_prompt",
    "filters",
    *PROMPT_COMPLETION_KEYS,
)


# --- options -----------------------------------------------------------------------------


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "true",
        "1",
        "on",
        "yes",
        "false",
        "0",
        "no",
        "",
    ):
        return value.lower() in ("true", "1", "on", "yes")
    raise ValidationError({name: ERR_BOOL.format(name=name)})


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({name: ERR_TEXT.format(name=name)})
    return value


def _date(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError({name: ERR_DATE}) from None


def _split(value: Any) -> dict[str, Any] | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict) or set(value) - {"validation", "seed"}:
        raise ValidationError({"split": ERR_SPLIT})
    fraction = value.get("validation", 0.1)
    if isinstance(fraction, bool):
        raise ValidationError({"split": ERR_VALIDATION})
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise ValidationError({"split": ERR_VALIDATION}) from None
    if not 0 < fraction <= 0.5:
        raise ValidationError({"split": ERR_VALIDATION})
    seed = value.get("seed", 42)
    if isinstance(seed, bool) or not (
        isinstance(seed, int) or (isinstance(seed, str) and seed.strip().lstrip("-").isdigit())
    ):
        raise ValidationError({"split": ERR_SEED})
    return {"validation": fraction, "seed": int(seed)}


def _filters(project: Project, value: Any) -> dict[str, Any]:
    value = value or {}
    if not isinstance(value, dict):
        raise ValidationError({"filters": ERR_UNKNOWN.format(names="filters")})
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise ValidationError({"filters": ERR_UNKNOWN.format(names=", ".join(unknown))})
    tags = value.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ValidationError({"tags": ERR_TAGS})
    raw_stage = value.get("stage")
    stage: int | None = None
    if raw_stage not in ("", None):
        if isinstance(raw_stage, bool) or not str(raw_stage).isdigit():
            raise ValidationError({"stage": ERR_STAGE})
        stage = int(str(raw_stage))
    approved_from = _date(value.get("approved_from"), "approved_from")
    approved_to = _date(value.get("approved_to"), "approved_to")
    if approved_from and approved_to and approved_from > approved_to:
        raise ValidationError({"approved_to": ERR_DATE_ORDER})
    annotator = _text(value.get("annotator"), "annotator").strip() or None
    if (
        annotator
        and not Membership.objects.filter(project=project, user__username=annotator).exists()
    ):
        raise ValidationError({"annotator": ERR_ANNOTATOR.format(name=annotator)})
    return {
        "tags": sorted(set(tags)),
        "stage": stage,
        "approved_from": approved_from,
        "approved_to": approved_to,
        "annotator": annotator,
    }


def normalize_options(*, project: Project, options: dict[str, Any]) -> dict[str, Any]:
    """The export options in their one canonical shape (fixed keys and order), or a
    ValidationError naming the first problem in words."""
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ValidationError({"detail": ERR_UNKNOWN.format(names=", ".join(unknown))})
    fmt = options.get("format")
    if fmt not in FORMATS:
        raise ValidationError({"format": ERR_FORMAT})
    normalized: dict[str, Any] = {
        "format": fmt,
        "split": _split(options.get("split")),
        "dedup": _bool(options.get("dedup", False), "dedup"),
        "include_metadata": _bool(options.get("include_metadata", False), "include_metadata"),
        "system_prompt": _text(options.get("system_prompt"), "system_prompt"),
        "filters": _filters(project, options.get("filters")),
    }
    given = {k: options[k] for k in PROMPT_COMPLETION_KEYS if options.get(k) not in (None, "")}
    if fmt == PROMPT_COMPLETION:
        template = _text(given.get("template", "{prompt}"), "template")
        if "{prompt}" not in template:
            raise ValidationError({"template": ERR_TEMPLATE})
        normalized["prompt_completion"] = {
            "template": template,
            "completion_prefix": _text(given.get("completion_prefix"), "completion_prefix"),
            "separator": _text(given.get("separator"), "separator"),
            "stop": _text(given.get("stop"), "stop"),
        }
    elif given:
        raise ValidationError({next(iter(given)): ERR_PROMPT_COMPLETION_ONLY})
    return normalized


def render_options(options: dict[str, Any]) -> RenderOptions:
    return RenderOptions(
        system_prompt=options["system_prompt"], **options.get("prompt_completion", {})
    )


# --- selection -----------------------------------------------------------------------------


def selected_items(project: Project, filters: dict[str, Any]) -> QuerySet[Item]:
    """The approved items the filters choose (all but the tag filter, applied while
    reading the snapshot so it works on every database)."""
    items = Item.objects.filter(
        project=project, state=State.APPROVED, current_revision__isnull=False
    )
    if filters.get("stage") is not None:
        items = items.filter(
            Exists(
                Review.objects.filter(
                    item=OuterRef("pk"),
                    stage__gte=filters["stage"],
                    decision__in=[Decision.APPROVE, Decision.EDIT],
                )
            )
        )
    if filters.get("approved_from"):
        items = items.filter(state_changed_at__date__gte=filters["approved_from"])
    if filters.get("approved_to"):
        items = items.filter(state_changed_at__date__lte=filters["approved_to"])
    if filters.get("annotator"):
        items = items.filter(
            Exists(
                Revision.objects.filter(
                    item=OuterRef("pk"),
                    kind=RevisionKind.SUBMISSION,
                    author__username=filters["annotator"],
                )
            )
        )
    return items


def _snapshot_ids(project: Project, filters: dict[str, Any]) -> Iterator[int]:
    items = selected_items(project, filters).order_by("id")
    wanted = set(filters.get("tags") or [])
    if not wanted:
        yield from items.values_list("current_revision_id", flat=True).iterator(chunk_size=10_000)
        return
    for revision_id, tags in items.values_list("current_revision_id", "tags").iterator(
        chunk_size=10_000
    ):
        if wanted.intersection(tags or []):
            yield revision_id


def _pack(ids: array[int]) -> bytes:
    if sys.byteorder == "big":
        ids = array("q", ids)
        ids.byteswap()
    return ids.tobytes()


def _unpack(data: bytes | memoryview) -> array[int]:
    ids = array("q")
    ids.frombytes(bytes(data))
    if sys.byteorder == "big":
        ids.byteswap()
    return ids


# --- jobs ----------------------------------------------------------------------------------


def create_export(*, project: Project, user: Any, options: dict[str, Any]) -> ExportJob:
    """Validate ``options`` and record an export job; its build starts after commit."""
    normalized = normalize_options(project=project, options=options)
    if not _has_rows(project, normalized["filters"]):
        raise ValidationError({"detail": ERR_NOTHING})
    with transaction.atomic():
        job = ExportJob.objects.create(
            project=project,
            format=normalized["format"],
            options=normalized,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        enqueue("exports.build", job.pk)
    return job


def _has_rows(project: Project, filters: dict[str, Any]) -> bool:
    if filters.get("tags"):
        return next(_snapshot_ids(project, filters), None) is not None
    return selected_items(project, filters).exists()


def _claim(job_id: int) -> ExportJob | None:
    """Mark the job running for this attempt; None when it is done, or another worker is
    building it and alive."""
    now = timezone.now()
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None
        stale = job.heartbeat_at is None or job.heartbeat_at < now - STALE_AFTER
        if not (job.status == JobStatus.PENDING or (job.status == JobStatus.RUNNING and stale)):
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.message = ""
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "message"])
    return job


def _alive(job: ExportJob, **fields: Any) -> bool:
    """Record progress; False when another attempt has taken the job over."""
    updated = ExportJob.objects.filter(
        pk=job.pk, attempts=job.attempts, status=JobStatus.RUNNING
    ).update(heartbeat_at=timezone.now(), **fields)
    return updated == 1


def resume_stalled_exports(*, stale_after: dt.timedelta = STALE_AFTER) -> list[int]:
    """Hand running exports whose worker went silent (killed, machine lost) back to the
    queue. Returns the ids re-queued."""
    cutoff = timezone.now() - stale_after
    resumed = []
    stalled = ExportJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lte=cutoff)
    for job_id in stalled.values_list("pk", flat=True):
        with transaction.atomic():
            if ExportJob.objects.filter(
                pk=job_id, status=JobStatus.RUNNING, heartbeat_at__lte=cutoff
            ).update(status=JobStatus.PENDING, message="Resumed after the worker stopped."):
                enqueue("exports.build", job_id)
                resumed.append(job_id)
    return resumed


def build_export(*, job_id: int) -> ExportJob | None:
    """Build the export's file. Safe to run again: a finished job is left alone, a job
    another live worker holds is left to it, and a retry reuses the stored snapshot."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        _build(job)
    except Exception as exc:
        log.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
            status=JobStatus.FAILED,
            message=f"The export failed: {exc}",
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


@dataclass
class _Out:
    name: str
    handle: IO[bytes]
    sha: Any
    rows: int = 0

    def write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        self.rows += len(lines)
        lines.append(b"")  # the last line's newline
        data = escape_line_separators(b"\n".join(lines))
        self.handle.write(data)
        self.sha.update(data)


def _any(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (cheap to send and
    plan), a plain IN list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


_EMPTY: dict[str, Any] = {"[]": [], "{}": {}}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return _EMPTY[value].copy() if value in _EMPTY else orjson.loads(value)
    return value


def _prefetched(chunks: Iterator[list[Record | None]]) -> Iterator[list[Record | None]]:
    """Read the next chunk from the database in a thread while this one is rendered.

    Only outside a transaction: the thread has its own connection, which sees committed
    rows only (a snapshot's revisions are committed and never change)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from chunks
        return
    results: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        results.put(("chunk", chunk), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            results.put(("done", None))
        except BaseException as exc:
            results.put(("error", exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=produce, name="export-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = results.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _query(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def _records(
    job: ExportJob, ids: array[int], stats: dict[str, Any]
) -> Iterator[list[Record | None]]:
    """The snapshot's records in chunks, in snapshot order (None for a revision deleted
    since the snapshot). Also gathers the card's quality figures per chunk.

    Plain SQL returning tuples: at a million rows, model instances (or even the ORM's
    building of a 5,000-id filter) would cost more than the export itself. Table names
    come from the models; every value is a query parameter."""
    revision = Revision._meta.db_table
    item = Item._meta.db_table
    guideline = Guideline._meta.db_table
    review = Review._meta.db_table
    check = CheckResult._meta.db_table
    want_alternatives = job.format == PREFERENCE
    # Columns a format or option does not use are not sent (NULL) nor parsed.
    draft = "i.model_draft" if want_alternatives else "NULL"
    described = "i.tags, i.metadata" if job.options["include_metadata"] else "NULL, NULL"
    authors: set[int] = set()
    reviewers: set[int] = set()
    versions: set[int] = set()
    checks: dict[str, dict[str, int]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK].tolist()
        where, params = _any("r.id", chunk)
        rows = _query(
            f"SELECT r.id, r.item_id, r.messages, g.version, i.external_id, {draft}, "  # noqa: S608
            f"{described}, i.project_id FROM {revision} r "
            f"JOIN {item} i ON i.id = r.item_id "
            f"LEFT JOIN {guideline} g ON g.id = r.guideline_id WHERE {where}",
            params,
        )
        # The project check is done here rather than in SQL, where it leads the planner to
        # scan every item of the project for each chunk.
        rows = [row for row in rows if row[8] == job.project_id]
        by_id = {row[0]: row for row in rows}
        item_ids = sorted(row[1] for row in rows)
        if not item_ids:
            yield [None] * len(chunk)
            continue
        where, params = _any("revision_id", chunk)
        for name, outcome, n in _query(
            f"SELECT name, outcome, COUNT(*) FROM {check} WHERE {where} GROUP BY name, outcome",  # noqa: S608
            params,
        ):
            counts = checks.setdefault(name, {"pass": 0, "warn": 0, "fail": 0})
            counts[outcome] = counts.get(outcome, 0) + n
        # Overlap items: the reviewer picked one answer; the others are "not picked".
        not_picked: dict[int, list[int]] = {}
        where, params = _any("item_id", item_ids)
        for reviewer_id, item_id, alternatives in _query(
            f"SELECT reviewer_id, item_id, alternatives FROM {review} WHERE {where}",  # noqa: S608
            params,
        ):
            if reviewer_id is not None:
                reviewers.add(reviewer_id)
            alternatives = _json(alternatives)
            if want_alternatives and alternatives:
                not_picked.setdefault(item_id, []).extend(int(a) for a in alternatives)
        authors.update(
            author_id
            for (author_id,) in _query(
                f"SELECT DISTINCT author_id FROM {revision} WHERE {where} AND kind = %s",  # noqa: S608
                [*params, RevisionKind.SUBMISSION.value],
            )
            if author_id is not None
        )
        alternative_text: dict[int, str] = {}
        if not_picked:
            wanted = sorted({a for alts in not_picked.values() for a in alts})
            for rid, messages in Revision.objects.filter(
                id__in=wanted, item__project_id=job.project_id
            ).values_list("id", "messages"):
                alternative_text[rid] = answer_text(Record(0, rid, messages))
        records: list[Record | None] = []
        for rid in chunk:
            row = by_id.get(rid)
            if row is None:
                records.append(None)
                continue
            if row[3] is not None:
                versions.add(row[3])
            picked_over = not_picked.get(row[1])
            records.append(
                Record(
                    item_id=row[1],
                    revision_id=rid,
                    messages=_json(row[2]),
                    external_id=row[4],
                    model_draft=row[5] or "",
                    tags=_json(row[6]) or [],
                    metadata=_json(row[7]) or {},
                    not_picked=tuple(
                        alternative_text[a]
                        for a in sorted(set(picked_over))
                        if a in alternative_text and a != rid
                    )
                    if picked_over
                    else (),
                )
            )
        yield records
    stats["people"] = {"annotators": len(authors), "reviewers": len(reviewers)}
    stats["guideline_versions"] = sorted(versions)
    stats["checks"] = {name: checks[name] for name in sorted(checks)}


def _take_snapshot(job: ExportJob) -> array[int]:
    if job.snapshot_at is not None:
        return _unpack(job.snapshot)
    ids = array("q", _snapshot_ids(job.project, job.options["filters"]))
    if not _alive(job, snapshot=_pack(ids), snapshot_at=timezone.now(), total=len(ids)):
        raise _TakenOver
    return ids


class _TakenOver(Exception):
    """Another attempt now owns the job: stop quietly."""


def _build(job: ExportJob) -> None:
    try:
        ids = _take_snapshot(job)
    except _TakenOver:
        return
    options = job.options
    render = WRITERS[job.format]
    rendering = render_options(options)
    split = options["split"]
    dedup = Deduplicator() if options["dedup"] else None
    length_stats = card.LengthStats()
    stats: dict[str, Any] = {}
    skipped = 0
    slug = job.project.slug
    with tempfile.TemporaryDirectory(prefix="export-") as tmp, ExitStack() as files:

        def out(name: str) -> _Out:
            handle = files.enter_context(open(os.path.join(tmp, name), "wb"))
            return _Out(name, handle, hashlib.sha256())

        outs = (
            {TRAIN: out("train.jsonl"), VALIDATION: out("validation.jsonl")}
            if split
            else {TRAIN: out(f"{slug}-{job.format}.jsonl")}
        )
        revision_ids = {key: array("q") for key in outs}
        pick = (
            validation_picker(fraction=split["validation"], seed=split["seed"]) if split else None
        )
        with_metadata = options["include_metadata"]
        add_lengths = length_stats.add
        done = 0
        next_beat = 0.0
        for records in _prefetched(_records(job, ids, stats)):
            lines: dict[str, list[bytes]] = {key: [] for key in outs}
            for record in records:
                if record is None:
                    skipped += 1
                    continue
                rows = render(record, rendering)
                if not rows:
                    skipped += 1
                    continue
                side = TRAIN
                if pick is not None and pick(
                    split_key(item_id=record.item_id, external_id=record.external_id)
                ):
                    side = VALIDATION
                for row in rows:
                    line = dumps(row)
                    if dedup is not None and dedup.seen(line):
                        continue
                    if with_metadata:
                        row["metadata"] = metadata(record)
                        line = dumps(row)
                    lines[side].append(line)
                    revision_ids[side].append(record.revision_id)
                    add_lengths(*lengths(record))
            for key, value in lines.items():
                outs[key].write(value)
            done += len(records)
            # Progress (and the heartbeat that shows the job is alive) at most twice a second.
            if time.monotonic() >= next_beat:
                if not _alive(job, progress=done):
                    return
                next_beat = time.monotonic() + 0.5
        stats["lengths"] = length_stats.summary()
        for o in outs.values():
            o.handle.flush()
        file_entries = [
            {
                "name": o.name,
                "rows": o.rows,
                "sha256": o.sha.hexdigest(),
                "revision_ids": revision_ids[key],
            }
            for key, o in outs.items()
        ]
        manifest = {
            "manifest_version": card.MANIFEST_VERSION,
            "project": {"slug": slug, "name": job.project.name},
            "format": job.format,
            "options": options,
            "snapshot": {
                "items": len(ids),
                "sha256": hashlib.sha256(_pack(ids)).hexdigest(),
            },
            "rows": sum(o.rows for o in outs.values()),
            "duplicates_removed": dedup.dropped if dedup else 0,
            "skipped": skipped,
            "files": file_entries,
            "stats": stats,
        }
        card.write_manifest(os.path.join(tmp, "manifest.json"), manifest)
        if split:
            readme = card.readme(
                manifest,
                project_name=job.project.name,
                description=job.project.description,
                language=job.project.language,
            )
            Path(tmp, "README.md").write_text(readme, encoding="utf-8")
            download = os.path.join(tmp, f"{slug}-{job.format}.zip")
            _zip(download, [os.path.join(tmp, n) for n in (
                "train.jsonl", "validation.jsonl", "manifest.json", "README.md"
            )])  # fmt: skip
        else:
            download = os.path.join(tmp, outs[TRAIN].name)
        _commit(job, download, os.path.join(tmp, "manifest.json"), manifest)


ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _zip(path: str, members: list[str]) -> None:
    """A zip whose bytes depend only on the members' bytes: fixed dates, modes and order."""
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            info = zipfile.ZipInfo(os.path.basename(member), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Level 1 deflates varied text about five times faster than the default level,
            # for files about an eighth larger. (``compress_level`` from Python 3.13 on.)
            info._compresslevel = 1  # type: ignore[attr-defined]
            info.external_attr = 0o644 << 16
            info.create_system = 3
            with open(member, "rb") as src, archive.open(info, "w") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _folder(job: ExportJob) -> str:
    return f"exports/{job.project_id}/{job.pk}"


def _commit(job: ExportJob, download: str, manifest_path: str, manifest: dict[str, Any]) -> None:
    """Save the finished files through storage, then point the job at them in one UPDATE.
    Each attempt saves under its own folder, so attempts never overwrite each other."""
    folder = f"{_folder(job)}/attempt-{job.attempts}"
    with open(download, "rb") as handle:
        name = default_storage.save(f"{folder}/{os.path.basename(download)}", File(handle))
    with open(manifest_path, "rb") as handle:
        manifest_name = default_storage.save(f"{folder}/manifest.json", File(handle))
    public = card.public_manifest(manifest)
    committed = ExportJob.objects.filter(
        pk=job.pk, attempts=job.attempts, status=JobStatus.RUNNING
    ).update(
        status=JobStatus.SUCCEEDED,
        file=name,
        manifest_file=manifest_name,
        sha256=_sha256(download),
        files=public["files"],
        manifest=public,
        rows=manifest["rows"],
        progress=manifest["snapshot"]["items"],
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        message="",
    )
    if not committed:
        default_storage.delete(name)
        default_storage.delete(manifest_name)
        return
    _remove_other_attempts(job, keep=folder)


def _remove_other_attempts(job: ExportJob, *, keep: str) -> None:
    """Files left by attempts that died before committing are never served; tidy them."""
    root = _folder(job)
    try:
        folders, _ = default_storage.listdir(root)
    except (FileNotFoundError, NotImplementedError):
        return
    for folder in folders:
        path = f"{root}/{folder}"
        if path == keep:
            continue
        try:
            _, names = default_storage.listdir(path)
        except FileNotFoundError:
            continue
        for name in names:
            default_storage.delete(f"{path}/{name}")


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
    if not _has_rows(project, normalized["filters"]):
        raise ValidationError({"detail": ERR_NOTHING})
    job = ExportJob.objects.create(project=project, format=normalized["format"], options=normalized)
    built = build_export(job_id=job.pk)
    if built is None or built.status != JobStatus.SUCCEEDED:
        message = built.message if built else "The export did not run."
        raise ValidationError({"detail": message})
    with open_download(job=built) as src, open(path, "wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    return built
