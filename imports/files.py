"""Reading an uploaded file safely: size limits, gzip (with a bomb guard), encodings,
line limits, and the three containers every format comes in (JSON lines, a JSON
array, CSV/TSV).

Problems that make the whole file unreadable raise :class:`FileProblem`; problems of
one row are yielded as :class:`RowError` so the report can list every bad row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings

from core.text import clean_data

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
CHUNK = 1 << 20
MB = 1024 * 1024

EMPTY_FILE = "The file is empty: there is nothing to import."
TOO_BIG = "The file is {size}; the largest file this instance accepts is {limit}."
BOMB = (
    "The compressed file expands to more than {limit} (or more than {ratio} times its "
    "compressed size), so it was not unpacked. Split it, or upload it uncompressed."
)
BAD_GZIP = "The file looks gzip-compressed but cannot be unpacked: {error}."
UTF16 = "The file is UTF-16 encoded; save it as UTF-8 and upload it again."
NOT_UTF8 = "Line {line} is not valid UTF-8 (byte 0x{byte:02x} at position {column}); save the file as UTF-8."
LINE_TOO_LONG = "This line is longer than the {limit} limit for one row."
FIELD_TOO_LONG = "This text is longer than the {limit} limit for one field."
NOT_JSON = "This line is not valid JSON: {error}."
TRUNCATED = "The last line is not complete JSON ({error}); the file may have been cut short."
TOO_DEEP = "This row is nested too deeply to be a conversation."
NOT_OBJECT = "Each line must be a JSON object ({{...}}), not {kind}."
NOT_ARRAY = "The file is JSON but not an array of objects; use a JSON array or one object per line."
ARRAY_BROKEN = "The JSON array is broken at line {line}: {error}."
ARRAY_TOO_BIG = "JSON array files over {limit} are not supported; convert the file to JSON lines."
CSV_BROKEN = "The CSV file cannot be read at line {line}: {error}."
BINARY = (
    "This is not a text file (it looks like {kind}), so it cannot be imported. Upload JSON "
    "lines, a JSON array, CSV or TSV (UTF-8 text, optionally gzipped)."
)
NAMED_NOT_JSON = (
    "The file {name} is not JSON: line {line} is not valid JSON ({error}). Save it as JSON "
    "lines (one object per line) or a JSON array; if it is CSV, choose CSV / TSV."
)
NAMED_NOT_OBJECTS = "The file {name} is not JSON lines of objects: line {line} is {kind}."
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
HEAD_BYTES = 64 * 1024

# Signatures of the files people upload by mistake, for a message that names them.
MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive, such as an Excel or Word file"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
# Bytes that text does not contain: C0 controls other than tab, line ends, form feed, ESC.
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_TEXT = bytes(c for c in range(256) if c not in _CONTROL)  # to count controls in one call


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size:.1f} GB".replace(".0 ", " ")


class FileProblem(Exception):
    """The whole file cannot be imported; ``message`` says why in words."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class RowError(Exception):
    """One bad row: which field, and what is wrong with it."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_field_bytes: int
    max_unpacked_bytes: int
    max_ratio: int
    max_array_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        max_file = int(settings.IMPORT_MAX_FILE_BYTES)
        return cls(
            max_file_bytes=max_file,
            max_field_bytes=int(settings.IMPORT_MAX_FIELD_BYTES),
            max_unpacked_bytes=int(getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", max_file)),
            max_ratio=int(getattr(settings, "IMPORT_MAX_GZIP_RATIO", 100)),
            max_array_bytes=int(getattr(settings, "IMPORT_MAX_JSON_ARRAY_BYTES", 256 * MB)),
        )


class _Guarded(io.RawIOBase):
    """Counts unpacked bytes and stops a decompression bomb before it fills memory."""

    # Small files may compress very well; the ratio is only judged past this size.
    RATIO_FLOOR = 16 * MB

    def __init__(self, inner: IO[bytes], packed: IO[bytes], limits: Limits) -> None:
        self.inner = inner
        self.packed = packed
        self.limits = limits
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise FileProblem(BAD_GZIP.format(error=exc)) from None
        n = len(data)
        buffer[:n] = data
        self.count += n
        packed = max(self.packed.tell(), 1)
        if self.count > self.limits.max_unpacked_bytes or (
            self.count > self.RATIO_FLOOR and self.count > packed * self.limits.max_ratio
        ):
            raise FileProblem(
                BOMB.format(
                    limit=human_size(self.limits.max_unpacked_bytes), ratio=self.limits.max_ratio
                )
            )
        return n


class Source:
    """An opened upload: ``stream`` gives the (unpacked) bytes, ``position()`` how far
    into the stored file reading has got, for the progress bar."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.size = path.stat().st_size
        if self.size > limits.max_file_bytes:
            raise FileProblem(
                TOO_BIG.format(size=human_size(self.size), limit=human_size(limits.max_file_bytes))
            )
        if self.size == 0:
            raise FileProblem(EMPTY_FILE)
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115  (closed by close())
        self.compressed = self._file.read(2) == GZIP_MAGIC
        self._file.seek(0)
        if self.compressed:
            inner: Any = gzip.GzipFile(fileobj=self._file, mode="rb")
            self.stream: io.BufferedReader = io.BufferedReader(
                _Guarded(inner, self._file, limits), CHUNK
            )
        else:
            self.stream = io.BufferedReader(self._file, CHUNK)

    def position(self) -> int:
        try:
            return min(self._file.tell(), self.size)
        except ValueError:
            return self.size

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """The first bytes of the unpacked content, BOM removed (reading starts over)."""
        return clean_head(self.stream.peek(n)[:n])


def clean_head(data: bytes) -> bytes:
    """``data`` without its UTF-8 BOM; UTF-16 is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(UTF16)
    start = data[:512]
    even, odd = start[0::2].count(0), start[1::2].count(0)
    if len(start) >= 8 and max(even, odd) * 5 > len(start) * 2 and min(even, odd) * 10 < len(start):
        raise FileProblem(UTF16)  # every other byte NUL: UTF-16 without a byte order mark
    return data[3:] if data.startswith(UTF8_BOM) else data


def upload_head(file: IO[bytes], n: int = HEAD_BYTES) -> bytes | None:
    """The first ``n`` unpacked bytes of an upload not yet stored (gzip is unpacked, at
    most ``n`` bytes of it), read without moving the file; None when a gzip stream is
    broken (the job reports that)."""
    file.seek(0)
    try:
        data = file.read(n)
    finally:
        file.seek(0)
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, n)
    except zlib.error:
        return None


def binary_kind(head: bytes) -> str | None:
    """What a file's first bytes look like when they are not text, else None.

    Text never holds a NUL byte; a file that is neither valid UTF-8 nor free of control
    bytes is binary too. A legacy 8-bit encoding (Latin-1) is text: its rows are then
    reported one by one as not UTF-8."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return "binary data"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and exc.start >= len(head) - 3
        if not cut and len(head.translate(None, delete=_TEXT)) * 100 > len(head):
            return "binary data"
    return None


def named_json(filename: str) -> bool:
    name = filename.lower().removesuffix(".gz")
    return name.endswith(JSON_SUFFIXES)


def not_json_message(head: bytes, filename: str) -> str:
    """Why a file named ``.json``/``.jsonl`` whose first character opens no object or
    array is not JSON, naming its first non-blank line."""
    lines = head.split(b"\n")
    number = next((i for i, line in enumerate(lines) if line.strip()), 0)
    line = lines[number] if lines else b""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return NAMED_NOT_JSON.format(name=filename, line=number + 1, error=exc.msg.lower())
    return NAMED_NOT_OBJECTS.format(name=filename, line=number + 1, kind=_object_kind(value))


ESCAPED_NUL = b"\\u0000"
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class TooLong:
    """Marker for a line over the row limit (its bytes were skipped)."""


def iter_lines(source: Source) -> Iterator[tuple[int, bytes | TooLong, bool]]:
    """(line number, raw bytes without the BOM, whether a line end followed)."""
    stream = source.stream
    limit = source.limits.max_field_bytes
    number = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                rest = stream.readline(CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, TooLong(), True
            continue
        ended = raw.endswith(b"\n")
        yield number, raw, ended


def _decode_line(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(
            NOT_UTF8.format(line=number, byte=raw[exc.start], column=exc.start + 1)
        ) from None


def _object_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if isinstance(value, int | float) else "a value"


def iter_jsonl(source: Source) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    limit = human_size(source.limits.max_field_bytes)
    loads = orjson.loads
    for number, raw, ended in iter_lines(source):
        if isinstance(raw, TooLong):
            yield number, RowError(LINE_TOO_LONG.format(limit=limit))
            continue
        if not raw.strip():
            continue
        try:
            value = loads(raw)
        except orjson.JSONDecodeError as exc:
            yield number, _json_problem(raw, number, exc.msg, ended)
            continue
        if not isinstance(value, dict):
            yield number, RowError(NOT_OBJECT.format(kind=_object_kind(value)))
            continue
        if ESCAPED_NUL in raw:  # a cheap scan; rows without one are not walked
            value = clean_data(value)
        yield number, value


def _json_problem(raw: bytes, number: int, message: str, ended: bool) -> RowError:
    try:
        _decode_line(raw, number)
    except RowError as exc:
        return exc
    if "depth limit" in message or "recursion" in message:
        return RowError(TOO_DEEP)
    return RowError((NOT_JSON if ended else TRUNCATED).format(error=message.lower()))


def _array_text(source: Source) -> str:
    """The whole JSON array file as text: refused when over the size limit or not UTF-8."""
    limits = source.limits
    data = source.stream.read(limits.max_array_bytes + 1)
    if len(data) > limits.max_array_bytes:
        raise FileProblem(ARRAY_TOO_BIG.format(limit=human_size(limits.max_array_bytes)))
    if data.startswith(UTF8_BOM):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileProblem(
            NOT_UTF8.format(line=line, byte=data[exc.start], column=column), line=line
        ) from None


def iter_json_array(source: Source) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    text = _array_text(source)
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text):
        raise FileProblem(EMPTY_FILE)
    if text[pos] != "[":
        raise FileProblem(NOT_ARRAY)
    line, counted = 1, 0

    def line_at(p: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, p)
        counted = p
        return line

    # NUL and unpaired surrogates decode here but no database stores them.
    unclean = "\\u0000" in text or _ESCAPED_SURROGATE.search(text) is not None
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        start = line_at(pos)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FileProblem(
                ARRAY_BROKEN.format(line=line_at(exc.pos), error=exc.msg.lower()), line=line
            ) from None
        except RecursionError:
            raise FileProblem(f"Line {start}: {TOO_DEEP}", line=start) from None
        if isinstance(value, dict):
            yield start, clean_data(value) if unclean else value
        else:
            yield start, RowError(NOT_OBJECT.format(kind=_object_kind(value)))
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            if _skip_ws(text, pos + 1) < len(text):
                raise FileProblem(
                    ARRAY_BROKEN.format(line=line_at(pos), error="text after the closing ]")
                )
            return
        what = "the file ends before the closing ]" if pos >= len(text) else "expected , or ]"
        raise FileProblem(ARRAY_BROKEN.format(line=line_at(pos), error=what), line=line)


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _csv_lines(source: Source) -> Iterator[str]:
    limit = human_size(source.limits.max_field_bytes)
    for number, raw, _ended in iter_lines(source):
        if isinstance(raw, TooLong):
            raise FileProblem(f"Line {number}: " + LINE_TOO_LONG.format(limit=limit), line=number)
        # Undecodable bytes are carried through and reported for their row only.
        yield raw.decode("utf-8", errors="surrogateescape")


def sniff_delimiter(head: bytes) -> str:
    first = head.split(b"\n", 1)[0]
    return "\t" if first.count(b"\t") > first.count(b",") else ","


def iter_csv(source: Source, delimiter: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Rows as ``{header: cell}``; cells stay literal text (no formula handling)."""
    csv.field_size_limit(source.limits.max_field_bytes)
    reader = csv.reader(_csv_lines(source), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem(EMPTY_FILE) from None
    except csv.Error as exc:
        raise FileProblem(CSV_BROKEN.format(line=reader.line_num, error=exc)) from None
    header = [h.strip() for h in header]
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileProblem(CSV_BROKEN.format(line=reader.line_num, error=exc)) from None
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            "\x1f".join(cells).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start]
            byte = ord(bad) - 0xDC00 if "\udc80" <= bad <= "\udcff" else 0
            yield number, RowError(NOT_UTF8.format(line=number, byte=byte, column=exc.start + 1))
            continue
        if len(cells) > len(header):
            yield (
                number,
                RowError(
                    f"This row has {len(cells)} cells but the header has {len(header)} columns."
                ),
            )
            continue
        yield number, dict(zip(header, cells, strict=False))


def csv_header(source: Source, delimiter: str) -> list[str]:
    reader = csv.reader(_csv_lines(source), delimiter=delimiter)
    try:
        return [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        return []
