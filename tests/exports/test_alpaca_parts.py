"""Self-Instruct and Alpaca rows keep their structure from import to export: the Alpaca
export writes ``instruction`` and ``input`` apart again, unless the prompt was edited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.models import Item
from exports import services as exports
from imports.services import import_file
from projects import services
from tests.factories import approve_answered
from tests.services import require_datasets

# The import writes through its own database connection, so the test data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def _alpaca_rows(project) -> list[dict]:
    job = exports.export_to_path(
        project=project, path=Path("/dev/null"), options={"format": "alpaca"}
    )
    with exports.open_download(job=job) as handle:
        return [json.loads(line) for line in handle.read().splitlines()]


def test_self_instruct_exports_instruction_and_input_apart(alice) -> None:
    path = require_datasets() / "self-instruct_seed_tasks.jsonl"
    source = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            task = json.loads(line)
            source[task["instruction"].strip()] = task["instances"][0]["input"].strip()
    project = services.create_project(creator=alice, name="Seeds", slug="seeds")
    job = import_file(project=project, path=path, user=alice, format="auto", skip_invalid=True)
    assert job.status == "succeeded", job.message
    assert approve_answered(project) == job.created
    rows = _alpaca_rows(project)
    with_input = [r for r in rows if r["input"]]
    assert len(with_input) == sum(1 for v in source.values() if v)
    for row in rows:
        assert source[row["instruction"]] == row["input"]


def test_an_edited_prompt_is_exported_whole(alice, write_file) -> None:
    path = write_file(
        "alpaca.jsonl",
        [{"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"}],
    )
    project = services.create_project(creator=alice, name="Edited", slug="edited")
    assert import_file(project=project, path=path, user=alice).status == "succeeded"
    item = Item.objects.get(project=project)
    item.source = [{"role": "user", "content": "Translate 'Good morning' to French, please."}]
    item.save(update_fields=["source"])
    approve_answered(project)
    (row,) = _alpaca_rows(project)
    assert row["instruction"] == "Translate 'Good morning' to French, please."
    assert row["input"] == ""
