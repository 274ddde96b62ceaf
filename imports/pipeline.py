"""From an opened file to valid rows: container and format detection, the format's
reader, normalization and validation. Nothing here touches the database."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from annotation.messages import hash_normalized, normalize_text
from imports import formats
from imports.fields import Candidate
from imports.files import (
    BINARY,
    EMPTY_FILE,
    FIELD_TOO_LONG,
    FileProblem,
    RowError,
    Source,
    binary_kind,
    csv_header,
    human_size,
    iter_csv,
    iter_json_array,
    iter_jsonl,
    named_json,
    not_json_message,
    sniff_delimiter,
)

JSONL, JSON_ARRAY, DELIMITED = "jsonl", "json", "csv"

UNRECOGNISED = (
    "The format of this file could not be recognised (the first row has the fields: {keys}). "
    "Choose the format by hand."
)
WRONG_FORMAT = (
    "This file does not look like {chosen}: it looks like {guessed}. Choose "
    "“{guessed}” or let the format be detected."
)
NOT_CSV = "You chose CSV / TSV but this file is JSON; choose its format or let it be detected."
NOT_JSON_FILE = "You chose {chosen} but this file is not JSON (it looks like CSV or plain text)."
UNREADABLE_LIMIT = 1000
UNREADABLE = "The first {n:,} rows of this file are all unreadable; is it the right file?"
NO_MESSAGES = "The conversation has no messages."
EMPTY_MESSAGE = "Message {n} ({role}) is empty."
NO_USER_TURN = "The conversation has no user message, so there is no prompt to answer."
LATE_SYSTEM = "Message {n} is a system message; only the first message may be one."


@dataclass
class Row:
    """A valid row, normalized and ready to write."""

    line: int
    source: list[dict[str, str]]
    answer: str | None
    prompt_hash: str
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    priority: int = 0


@dataclass
class Plan:
    """What the file is: its container, its format and the options used to read it."""

    container: str
    format: str
    options: dict[str, Any]
    header: list[str] = field(default_factory=list)
    delimiter: str = ","


def detect_container(source: Source, *, filename: str = "", chosen: str = "auto") -> str:
    container = sniff_container(source.head(), filename=filename, chosen=chosen)
    if container is None:
        raise FileProblem(EMPTY_FILE)
    return container


def sniff_container(head: bytes, *, filename: str = "", chosen: str = "auto") -> str | None:
    """The container the first bytes (BOM removed) show, or None when they are blank.

    Refuses, by content, a file that is not text; and a file named ``.json``/``.jsonl``
    that is not JSON, unless CSV was chosen on purpose."""
    kind = binary_kind(head)
    if kind is not None:
        raise FileProblem(BINARY.format(kind=kind))
    first = head.lstrip()[:1]
    if not first:
        return None
    if first == b"[":
        return JSON_ARRAY
    if first == b"{":
        return JSONL
    if chosen != formats.CSV and named_json(filename):
        raise FileProblem(not_json_message(head, filename))
    return DELIMITED


def _records(source: Source, plan: Plan) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    if plan.container == JSON_ARRAY:
        return iter_json_array(source)
    if plan.container == JSONL:
        return iter_jsonl(source)
    return iter_csv(source, plan.delimiter)


def plan_file(
    source: Source, chosen: str, options: dict[str, Any], *, filename: str = ""
) -> tuple[Plan, Iterator[tuple[int, dict[str, Any] | RowError]]]:
    """Decide container and format, and return the records iterator (positioned at the
    first record)."""
    container = detect_container(source, filename=filename, chosen=chosen)
    options = dict(options)
    if container == DELIMITED:
        plan = _plan_delimited(source, chosen, options)
        return plan, _records(source, plan)
    if chosen == formats.CSV:
        raise FileProblem(NOT_CSV)
    plan = Plan(container, chosen, options)
    records = _records(source, plan)
    first: list[tuple[int, dict[str, Any] | RowError]] = []
    for line, record in records:
        first.append((line, record))
        if len(first) > UNREADABLE_LIMIT:
            raise FileProblem(UNREADABLE.format(n=UNREADABLE_LIMIT))
        if isinstance(record, dict):
            guessed = formats.guess_format(record)
            if chosen == "auto":
                if guessed is None:
                    raise FileProblem(
                        UNRECOGNISED.format(keys=formats.describe_keys(record)), line=line
                    )
                plan.format = guessed
            elif guessed is not None and guessed != chosen and not _reads(chosen, record, options):
                raise FileProblem(
                    WRONG_FORMAT.format(
                        chosen=formats.FORMATS[chosen], guessed=formats.FORMATS[guessed]
                    ),
                    line=line,
                )
            break
    if plan.format == "auto":  # every record was broken; report them as rows
        plan.format = formats.OPENAI_CHAT
    return plan, itertools.chain(first, records)


def _plan_delimited(source: Source, chosen: str, options: dict[str, Any]) -> Plan:
    """A CSV or TSV file's plan: its delimiter, header and the columns of each role
    (stored in ``options``)."""
    if chosen not in ("auto", formats.CSV):
        raise FileProblem(NOT_JSON_FILE.format(chosen=formats.FORMATS[chosen]))
    delimiter = options.get("delimiter") or sniff_delimiter(source.head())
    plan = Plan(DELIMITED, formats.CSV, options, delimiter=delimiter)
    header = csv_header(_PeekSource(source), delimiter)  # type: ignore[arg-type]
    plan.header = header
    columns = options.get("columns") or formats.guess_columns(header)
    unknown = [c for c in columns.values() if c and c not in header]
    if unknown:
        raise FileProblem(formats.CSV_NO_COLUMN.format(column=unknown[0]))
    if not columns.get("prompt"):
        raise FileProblem(formats.CSV_NO_PROMPT.format(columns=", ".join(header) or "none"))
    options["columns"] = {k: v for k, v in columns.items() if v}
    return plan


class _PeekSource:
    """Reads the CSV header from the buffered head without consuming the stream."""

    def __init__(self, source: Source) -> None:
        self.limits = source.limits
        self.stream = io.BytesIO(source.head())


def _reads(chosen: str, record: dict[str, Any], options: dict[str, Any]) -> bool:
    try:
        list(formats.READERS[chosen](record, options))
    except RowError:
        return False
    return True


def to_row(candidate: Candidate, line: int, *, field_limit: int) -> Row:
    """Normalize and validate one conversation; raises RowError for the first problem."""
    messages: list[dict[str, str]] = []
    original: dict[str, str] = {}
    for i, (role, content) in enumerate(candidate.messages):
        if (
            len(content) * 4 > field_limit
            and len(content.encode("utf-8", "surrogatepass")) > field_limit
        ):
            raise RowError(
                FIELD_TOO_LONG.format(limit=human_size(field_limit)), field=f"messages[{i}]"
            )
        text = normalize_text(content)
        if not text:
            raise RowError(EMPTY_MESSAGE.format(n=i + 1, role=role), field=f"messages[{i}]")
        if role == "system" and i > 0:
            raise RowError(LATE_SYSTEM.format(n=i + 1), field=f"messages[{i}]")
        if text != content:
            original[str(i)] = content
        messages.append({"role": role, "content": text})
    if not messages:
        raise RowError(NO_MESSAGES, field="messages")
    if not any(m["role"] == "user" for m in messages):
        raise RowError(NO_USER_TURN, field="messages")
    answer = messages.pop()["content"] if messages[-1]["role"] == "assistant" else None
    metadata = candidate.metadata
    if original:
        metadata["original_text"] = original
    return Row(
        line=line,
        source=messages,
        answer=answer,
        prompt_hash=hash_normalized((m["role"], m["content"]) for m in messages),
        external_id=candidate.external_id,
        metadata=metadata,
        tags=candidate.tags,
        priority=candidate.priority,
    )


def iter_rows(
    records: Iterator[tuple[int, dict[str, Any] | RowError]], plan: Plan, *, field_limit: int
) -> Iterator[tuple[int, Row | RowError]]:
    """Every row of the file as a valid Row or the RowError that rejects it."""
    reader = formats.READERS[plan.format]
    options = plan.options
    for line, record in records:
        if isinstance(record, RowError):
            yield line, record
            continue
        try:
            candidates = list(reader(record, options))
        except RowError as exc:
            yield line, exc
            continue
        except RecursionError:
            yield line, RowError("This row is nested too deeply to be a conversation.")
            continue
        for candidate in candidates:
            try:
                yield line, to_row(candidate, line, field_limit=field_limit)
            except RowError as exc:
                yield line, exc


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")
