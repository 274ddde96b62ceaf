"""Reading an export's records: the snapshot's revisions in bounded chunks, with what the
formats and the dataset card need from items, reviews and checks.
"""

from __future__ import annotations

import os
import queue
import threading
from array import array
from collections.abc import Iterator
from typing import Any

import orjson
from django.db import connection, connections

from annotation.models import Item, Revision, RevisionKind
from assist.models import Generation, PromptVersion
from checks.models import CheckResult
from exports.formats import ALPACA, PREFERENCE, Record, answer_text
from exports.models import ExportJob
from projects.models import Guideline
from reviews.models import Review

# Rows read per query: bounds the exporter's memory. EXPORT_CHUNK_ROWS overrides it.
CHUNK = max(1, int(os.environ.get("EXPORT_CHUNK_ROWS", "5000")))


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


def prefetched(chunks: Iterator[list[Record | None]]) -> Iterator[list[Record | None]]:
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


def _count_drafts(item_ids: list[int], drafted: dict[int, int]) -> None:
    """Add to ``drafted`` the prompt version that wrote each item's model draft (its
    latest applied generation), for the manifest and the card."""
    generation = Generation._meta.db_table
    where, params = _any("item_id", item_ids)
    for (prompt_id,) in _query(
        f"SELECT g.prompt_id FROM {generation} g WHERE g.id IN (SELECT MAX(id) FROM "  # noqa: S608
        f"{generation} WHERE applied AND {where} GROUP BY item_id)",
        params,
    ):
        drafted[prompt_id] = drafted.get(prompt_id, 0) + 1


def read_records(
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
    # Alpaca reads the item's metadata for the instruction and input it was imported with.
    described = (
        "i.tags, i.metadata"
        if job.options["include_metadata"] or job.format == ALPACA
        else "NULL, NULL"
    )
    authors: set[int] = set()
    reviewers: set[int] = set()
    versions: set[int] = set()
    checks: dict[str, dict[str, int]] = {}
    drafted: dict[int, int] = {}  # prompt version id -> items whose draft it wrote
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
        _count_drafts(item_ids, drafted)
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
    names = dict(PromptVersion.objects.filter(pk__in=drafted).values_list("pk", "name"))
    stats["model_drafts"] = [
        {"prompt_version": pk, "name": names.get(pk, ""), "items": drafted[pk]}
        for pk in sorted(drafted)
    ]
