"""Bad input: a clear message and nothing written. And the things that look odd but
are fine (BOM, mixed line ends, blank lines, formula-like CSV cells)."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Item
from core.models import JobStatus
from imports import fields, files, formats, pipeline
from imports.models import ImportJob
from imports.run import ID_TWICE, INVALID_ROWS
from imports.services import import_file

pytestmark = pytest.mark.django_db

BOMB_START = b'{"messages": [{"role": "user", "content": "'
CHAT = {
    "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]
}


def chat(prompt: str, answer: str = "An answer.", **extra):
    return {
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        **extra,
    }


def run(project, user, path, **kwargs) -> ImportJob:
    return import_file(project=project, path=path, user=user, **kwargs)


def assert_nothing_written(job: ImportJob) -> None:
    assert job.status == JobStatus.FAILED
    assert job.created == 0
    assert Item.objects.count() == 0


# --- whole-file problems ----------------------------------------------------------------


def test_empty_file_is_refused_before_anything_is_stored(project, alice, write_file):
    with pytest.raises(ValidationError) as exc:
        run(project, alice, write_file("empty.jsonl", b""))
    assert exc.value.message_dict == {"file": [files.EMPTY_FILE]}
    assert ImportJob.objects.count() == 0


def test_file_of_blank_lines_and_a_bom_is_empty(project, alice, write_file):
    job = run(project, alice, write_file("blank.jsonl", b"\xef\xbb\xbf\n\n  \r\n"))
    assert_nothing_written(job)
    assert job.message == files.EMPTY_FILE


def test_file_over_the_size_limit_is_refused(project, alice, write_file, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    path = write_file("big.jsonl", [chat(f"Question {i}?") for i in range(100)])
    with pytest.raises(ValidationError) as exc:
        run(project, alice, path)
    assert "the largest file this instance accepts is 1000 bytes" in exc.value.messages[0]
    assert Item.objects.count() == 0


def test_wrong_format_chosen(project, alice, write_file):
    path = write_file("chat.jsonl", [CHAT, CHAT])
    job = run(project, alice, path, format="alpaca")
    assert_nothing_written(job)
    assert job.message == pipeline.WRONG_FORMAT.format(
        chosen=formats.FORMATS["alpaca"], guessed=formats.FORMATS["openai-chat"]
    )


def test_json_file_imported_as_csv_is_refused(project, alice, write_file):
    job = run(project, alice, write_file("chat.jsonl", [CHAT]), format="csv")
    assert_nothing_written(job)
    assert job.message == pipeline.NOT_CSV


def test_unrecognised_format(project, alice, write_file):
    job = run(project, alice, write_file("odd.jsonl", [{"question": "Hi", "foo": 1}]))
    assert_nothing_written(job)
    assert "could not be recognised" in job.message and "question, foo" in job.message


def test_invalid_utf8_line_is_reported_with_its_line(project, alice, write_file):
    good = json.dumps(CHAT).encode()
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'
    job = run(project, alice, write_file("latin1.jsonl", b"\n".join([good, good, bad]) + b"\n"))
    assert_nothing_written(job)
    assert job.invalid == 1
    assert job.errors[0]["line"] == 3
    assert "not valid UTF-8 (byte 0xe9" in job.errors[0]["message"]


def test_invalid_utf8_in_a_json_array(project, alice, write_file):
    data = b'[\n{"instruction": "ok", "output": "fine"},\n{"instruction": "caf\xe9"}\n]'
    job = run(project, alice, write_file("latin1.json", data))
    assert_nothing_written(job)
    assert job.message.startswith("Line 3 is not valid UTF-8")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file_is_refused_before_anything_is_stored(project, alice, write_file, encoding):
    with pytest.raises(ValidationError) as exc:
        run(project, alice, write_file("u16.jsonl", json.dumps(CHAT).encode(encoding)))
    assert exc.value.message_dict == {"file": [files.UTF16]}
    assert ImportJob.objects.count() == 0


def test_truncated_last_line(project, alice, write_file):
    text = "\n".join(json.dumps(chat(f"Question {i}?")) for i in range(5))
    job = run(project, alice, write_file("cut.jsonl", text[:-15]))
    assert_nothing_written(job)
    assert (job.total, job.invalid) == (5, 1)
    assert job.errors[0]["line"] == 5
    assert "cut short" in job.errors[0]["message"]


def test_line_over_the_field_limit(project, alice, write_file, settings):
    settings.IMPORT_MAX_FIELD_BYTES = 10_000
    rows = [chat("Short?"), chat("Long " * 5000), chat("Short again?")]
    job = run(project, alice, write_file("long.jsonl", rows))
    assert_nothing_written(job)
    assert job.invalid == 1 and job.valid == 2
    assert job.errors == [
        {"line": 2, "field": "", "message": files.LINE_TOO_LONG.format(limit="9.8 KB")}
    ]


def test_field_over_the_limit_in_a_json_array(project, alice, write_file, settings):
    settings.IMPORT_MAX_FIELD_BYTES = 10_000
    data = json.dumps([{"instruction": "x" * 20_000, "output": "y"}])
    job = run(project, alice, write_file("long.json", data))
    assert_nothing_written(job)
    assert job.errors[0]["field"] == "messages[0]"
    assert "longer than the 9.8 KB limit" in job.errors[0]["message"]


def test_deeply_nested_json(project, alice, write_file):
    deep = '{"messages": ' + "[" * 50_000 + "]" * 50_000 + "}"
    job = run(project, alice, write_file("deep.jsonl", json.dumps(CHAT) + "\n" + deep + "\n"))
    assert_nothing_written(job)
    assert job.errors == [{"line": 2, "field": "", "message": files.TOO_DEEP}]


def test_gzip_bomb_is_not_unpacked(project, alice, write_file, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    bomb = gzip.compress(BOMB_START + b"A" * (8 * 1024 * 1024))
    assert len(bomb) < 20_000
    job = run(project, alice, write_file("bomb.jsonl.gz", bomb))
    assert_nothing_written(job)
    assert "expands to more than 1 MB" in job.message


def test_gzip_bomb_by_ratio_under_the_absolute_limit(project, alice, write_file):
    bomb = gzip.compress(BOMB_START + b"A" * (40 * 1024 * 1024))
    job = run(project, alice, write_file("bomb.gz", bomb))
    assert_nothing_written(job)
    assert "100 times its compressed size" in job.message


def test_broken_gzip(project, alice, write_file):
    data = gzip.compress(json.dumps(CHAT).encode() * 50)[:-30]
    job = run(project, alice, write_file("broken.jsonl.gz", data))
    assert_nothing_written(job)
    assert "cannot be unpacked" in job.message


def test_broken_json_array(project, alice, write_file):
    job = run(
        project, alice, write_file("a.json", '[{"instruction": "a", "output": "b"},\n{"instr')
    )
    assert_nothing_written(job)
    assert job.message.startswith("The JSON array is broken at line 2")


# --- row problems: reported per row, nothing written ------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"messages": "hello"}, "messages", "'messages' must be a list, not text."),
        (
            {"messages": [{"role": "user", "content": 42}]},
            "messages[0].content",
            "'messages[0].content' must be text, not a number.",
        ),
        (
            {"messages": [{"role": "tool", "content": "x"}]},
            "messages[0].role",
            fields.UNKNOWN_ROLE.format(role="tool"),
        ),
        ({"messages": []}, "messages", pipeline.NO_MESSAGES),
        (
            {"messages": [{"role": "user", "content": " \n "}]},
            "messages[0]",
            pipeline.EMPTY_MESSAGE.format(n=1, role="user"),
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "Be nice."},
                    {"role": "assistant", "content": "Hi"},
                ]
            },
            "messages",
            pipeline.NO_USER_TURN,
        ),
        (
            {"messages": [{"content": "x"}]},
            "messages[0]",
            "The row has no 'role' field in messages[0].",
        ),
        (dict(CHAT, priority="high"), "priority", "'priority' must be a whole number, not text."),
        (
            dict(CHAT, tags="a,b", metadata=[1]),
            "metadata",
            "'metadata' must be an object, not a list.",
        ),
        (dict(CHAT, tags=[1, 2]), "tags", "'tags' must be a list of text, not a list."),
        ([1, 2], "", files.NOT_OBJECT.format(kind="a list")),
    ],
)
def test_bad_rows(project, alice, write_file, row, field, message):
    job = run(project, alice, write_file("rows.jsonl", [CHAT, row]))
    assert_nothing_written(job)
    assert (job.total, job.valid, job.invalid) == (2, 1, 1)
    assert job.errors == [{"line": 2, "field": field, "message": message}]
    assert job.message == INVALID_ROWS.format(invalid=1, total=2)


def test_one_bad_row_at_the_end_of_a_long_file_writes_nothing(project, alice, write_file):
    rows = [chat(f"Question {i}?") for i in range(12_000)] + [{"messages": [{"role": "user"}]}]
    job = run(project, alice, write_file("long.jsonl", rows))
    assert_nothing_written(job)
    assert (job.total, job.valid, job.invalid) == (12_001, 12_000, 1)
    assert job.errors[0]["line"] == 12_001


def test_skip_invalid_imports_the_valid_rows(project, alice, write_file):
    rows = [chat("One?"), {"messages": 5}, chat("Two?"), "oops", chat("Three?")]
    job = run(project, alice, write_file("mixed.jsonl", rows), skip_invalid=True)
    assert (job.status, job.created, job.invalid) == (JobStatus.SUCCEEDED, 3, 2)
    assert [e["line"] for e in job.errors] == [2, 4]
    assert "2 invalid rows skipped" in job.message


def test_same_external_id_twice_in_a_file(project, alice, write_file):
    rows = [chat("One?", external_id="a"), chat("Two?", external_id="a")]
    job = run(project, alice, write_file("ids.jsonl", rows))
    assert_nothing_written(job)
    assert job.errors == [{"line": 2, "field": "external_id", "message": ID_TWICE.format(id="a")}]


# --- odd but fine ---------------------------------------------------------------------


def test_bom_mixed_line_ends_and_blank_lines_are_fine(project, alice, write_file):
    lines = [json.dumps(chat(f"Question {i}?")).encode() for i in range(4)]
    data = (
        b"\xef\xbb\xbf"
        + lines[0]
        + b"\r\n\r\n"
        + lines[1]
        + b"\n\n   \n"
        + lines[2]
        + b"\r\n"
        + lines[3]
    )
    job = run(project, alice, write_file("mixed.jsonl", data))
    assert (job.status, job.created, job.invalid) == (JobStatus.SUCCEEDED, 4, 0)


def test_text_is_normalized_and_the_original_kept(project, alice, write_file):
    decomposed = "Cafe\u0301 menu?\r\nList it.  "
    job = run(project, alice, write_file("nfc.jsonl", [chat(decomposed, "  Soup.\r\n")]))
    assert job.status == JobStatus.SUCCEEDED
    item = Item.objects.get()
    assert item.source == [{"role": "user", "content": "Caf\u00e9 menu?\nList it."}]
    assert item.reference == "Soup."
    assert item.metadata["original_text"] == {"0": decomposed, "1": "  Soup.\r\n"}


def test_csv_formula_like_cells_stay_literal_text(project, alice, write_file):
    data = (
        "prompt,response,tags\r\n"
        '=SUM(A1:A3),+1 is the answer,"a,b"\r\n'
        "-2 degrees?,@everyone hello,\r\n"
    )
    job = run(project, alice, write_file("sheet.csv", "\ufeff" + data))
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 2)
    items = list(Item.objects.order_by("id"))
    assert items[0].source[0]["content"] == "=SUM(A1:A3)"
    assert items[0].reference == "+1 is the answer"
    assert items[0].tags == ["a", "b"]
    assert items[1].source[0]["content"] == "-2 degrees?"
    assert items[1].reference == "@everyone hello"


def test_a_file_of_nothing_but_broken_lines_stops_early(project, alice, write_file):
    job = run(project, alice, write_file("junk.jsonl", "{oops\n" * 5000))
    assert_nothing_written(job)
    assert job.message == pipeline.UNREADABLE.format(n=1000)
