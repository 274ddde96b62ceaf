"""Building an export's files: the snapshot, the rendered JSONL (split, deduplicated,
hashed as it is written), the manifest, the dataset card and the zip, then the commit
that makes the finished files downloadable in one UPDATE.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import zipfile
from array import array
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from core import jobs
from core.models import JobStatus, move_job
from exports import card
from exports.formats import (
    PREFERENCE,
    WRITERS,
    Record,
    dumps,
    escape_line_separators,
    lengths,
    metadata,
)
from exports.models import ExportJob
from exports.options import render_options, snapshot_ids
from exports.records import prefetched, read_records
from exports.split import TRAIN, VALIDATION, Deduplicator, split_key, validation_picker


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


def _alive(job: ExportJob, **fields: Any) -> bool:
    """Record progress; False when another attempt has taken the job over."""
    return jobs.beat(ExportJob, job.pk, attempt=job.attempts, **fields)


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


def take_snapshot(job: ExportJob) -> array[int]:
    if job.snapshot_at is not None:
        return _unpack(job.snapshot)
    ids = array("q", snapshot_ids(job.project, job.options["filters"]))
    if not _alive(job, snapshot=_pack(ids), snapshot_at=timezone.now(), total=len(ids)):
        raise _TakenOver
    return ids


class _TakenOver(Exception):
    """Another attempt now owns the job: stop quietly."""


ERR_NO_ROWS = "no matching item gave a row, so no file was written (an empty file is no dataset)."
ERR_NO_PAIRS = (
    "no matching item gave a preference pair (each model draft was left unchanged), so no "
    "file was written. Choose another format."
)


class NoRows(Exception):
    """Every item was skipped: the job fails with the reason instead of an empty file."""


class _Renderer:
    """Turns each chunk of records into the lines of its file (train or validation):
    rendered by the format, deduplicated, with metadata when asked, lengths counted."""

    def __init__(self, job: ExportJob, outs: dict[str, _Out]) -> None:
        options = job.options
        split = options["split"]
        self.render = WRITERS[job.format]
        self.rendering = render_options(options)
        self.pick = (
            validation_picker(fraction=split["validation"], seed=split["seed"]) if split else None
        )
        self.dedup = Deduplicator() if options["dedup"] else None
        self.with_metadata = options["include_metadata"]
        self.lengths = card.LengthStats()
        self.outs = outs
        self.revision_ids = {key: array("q") for key in outs}
        self.skipped = 0

    def chunk(self, records: list[Record | None]) -> None:
        render, rendering, pick, dedup = self.render, self.rendering, self.pick, self.dedup
        with_metadata = self.with_metadata
        add_lengths = self.lengths.add
        revision_ids = self.revision_ids
        lines: dict[str, list[bytes]] = {key: [] for key in self.outs}
        skipped = 0
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
        self.skipped += skipped
        for key, value in lines.items():
            self.outs[key].write(value)


def write_export(job: ExportJob) -> None:
    """Write the export's files from its snapshot and commit them; stops quietly when
    another attempt takes the job over."""
    try:
        ids = take_snapshot(job)
    except _TakenOver:
        return
    stats: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="export-") as tmp, ExitStack() as files:
        outs = _open_outputs(job, tmp, files)
        renderer = _Renderer(job, outs)
        done = 0
        next_beat = 0.0
        for records in prefetched(read_records(job, ids, stats)):
            renderer.chunk(records)
            done += len(records)
            # Progress (and the heartbeat that shows the job is alive) at most twice a second.
            if time.monotonic() >= next_beat:
                if not _alive(job, progress=done):
                    return
                next_beat = time.monotonic() + 0.5
        if not any(o.rows for o in outs.values()):
            raise NoRows(ERR_NO_PAIRS if job.format == PREFERENCE else ERR_NO_ROWS)
        stats["lengths"] = renderer.lengths.summary()
        for o in outs.values():
            o.handle.flush()
        manifest = _manifest(job, ids, renderer, stats)
        card.write_manifest(os.path.join(tmp, "manifest.json"), manifest)
        if job.options["split"]:
            download = _package(job, tmp, manifest)
        else:
            download = os.path.join(tmp, outs[TRAIN].name)
        _commit(job, download, os.path.join(tmp, "manifest.json"), manifest)


def _open_outputs(job: ExportJob, tmp: str, files: ExitStack) -> dict[str, _Out]:
    """The JSONL files being written: train and validation with a split, else one file."""

    def out(name: str) -> _Out:
        handle = files.enter_context(open(os.path.join(tmp, name), "wb"))  # noqa: SIM115 (the ExitStack closes it)
        return _Out(name, handle, hashlib.sha256())

    if job.options["split"]:
        return {TRAIN: out("train.jsonl"), VALIDATION: out("validation.jsonl")}
    return {TRAIN: out(f"{job.project.slug}-{job.format}.jsonl")}


def _manifest(
    job: ExportJob, ids: array[int], renderer: _Renderer, stats: dict[str, Any]
) -> dict[str, Any]:
    outs = renderer.outs
    dedup = renderer.dedup
    return {
        "manifest_version": card.MANIFEST_VERSION,
        "project": {"slug": job.project.slug, "name": job.project.name},
        "format": job.format,
        "options": job.options,
        "snapshot": {
            "items": len(ids),
            "sha256": hashlib.sha256(_pack(ids)).hexdigest(),
        },
        "rows": sum(o.rows for o in outs.values()),
        "duplicates_removed": dedup.dropped if dedup else 0,
        "skipped": renderer.skipped,
        "files": [
            {
                "name": o.name,
                "rows": o.rows,
                "sha256": o.sha.hexdigest(),
                "revision_ids": renderer.revision_ids[key],
            }
            for key, o in outs.items()
        ],
        "stats": stats,
    }


def _package(job: ExportJob, tmp: str, manifest: dict[str, Any]) -> str:
    """A split export's download: both files, the manifest and the dataset card, zipped."""
    readme = card.readme(
        manifest,
        project_name=job.project.name,
        description=job.project.description,
        language=job.project.language,
    )
    Path(tmp, "README.md").write_text(readme, encoding="utf-8")
    download = os.path.join(tmp, f"{job.project.slug}-{job.format}.zip")
    _zip(download, [os.path.join(tmp, n) for n in (
        "train.jsonl", "validation.jsonl", "manifest.json", "README.md"
    )])  # fmt: skip
    return download


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
    now = timezone.now()
    committed = move_job(
        ExportJob,
        job.pk,
        source=JobStatus.RUNNING,
        to=JobStatus.SUCCEEDED,
        filters={"attempts": job.attempts},
        file=name,
        manifest_file=manifest_name,
        sha256=_sha256(download),
        files=public["files"],
        manifest=public,
        rows=manifest["rows"],
        progress=manifest["snapshot"]["items"],
        finished_at=now,
        heartbeat_at=now,
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
