"""Text no database can store (NUL, unpaired surrogates) inside an import file: the
rows import with the text cleaned, or the row is refused with a reason; never an
"internal error", never a job left running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Item
from core.models import JobStatus
from imports.services import import_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.django_db
def test_nul_in_text_and_metadata_is_cleaned_and_the_rows_import(
    project: Any, alice: Any, tmp_path: Path
) -> None:
    rows = (
        '{"messages": [{"role": "user", "content": "Reset\\u0000 my password"}], '
        '"metadata": {"source": "for\\u0000um", "nested": {"k\\u0000": ["a\\u0000b"]}}}\n'
        '{"messages": [{"role": "user", "content": "Plain row"}]}\n'
    )
    job = import_file(project=project, path=write(tmp_path, rows), user=alice)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.created == 2
    item = Item.objects.get(project=project, source__0__content="Reset my password")
    assert item.metadata["source"] == "forum"
    assert item.metadata["nested"] == {"k": ["ab"]}


@pytest.mark.django_db
def test_an_unpaired_surrogate_is_a_row_error_not_a_crash(
    project: Any, alice: Any, tmp_path: Path
) -> None:
    rows = (
        '{"messages": [{"role": "user", "content": "half \\ud800 a character"}]}\n'
        '{"messages": [{"role": "user", "content": "Plain row"}]}\n'
    )
    job = import_file(project=project, path=write(tmp_path, rows), user=alice, skip_invalid=True)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.created >= 1
    assert all(e.get("line") for e in job.errors)


@pytest.mark.django_db
def test_nul_in_a_json_array_is_cleaned(project: Any, alice: Any, tmp_path: Path) -> None:
    array = tmp_path / "rows.json"
    array.write_text('[{"messages": [{"role": "user", "content": "Array\\u0000 row \\udc00"}]}]')
    job = import_file(project=project, path=array, user=alice)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert Item.objects.get(project=project).source[0]["content"] == "Array row \ufffd"


@pytest.mark.django_db
def test_a_raw_nul_byte_in_a_csv_is_refused_as_binary(
    project: Any, alice: Any, tmp_path: Path
) -> None:
    table = tmp_path / "rows.csv"
    table.write_bytes(b"prompt\nCsv\x00 row\n")
    with pytest.raises(ValidationError) as refused:
        import_file(project=project, path=table, user=alice)
    assert "looks like binary data" in " ".join(refused.value.messages)
    assert not Item.objects.filter(project=project).exists()
