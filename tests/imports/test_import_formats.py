"""Every format, per-row fields, duplicates, and where the answer goes."""

from __future__ import annotations

import json

import pytest

from annotation.messages import normalize_text, prompt_hash
from annotation.models import Item
from core.models import JobStatus
from imports.services import import_file
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def items(project):
    return list(Item.objects.filter(project=project).order_by("id"))


def test_prompt_hash_ignores_unicode_form_line_ends_and_outer_space():
    a = [{"role": "user", "content": "Cafe\u0301\r\nmenu "}]
    b = [{"role": "user", "content": "Caf\u00e9\nmenu"}]
    assert prompt_hash(a) == prompt_hash(b)
    assert prompt_hash(a) != prompt_hash([{"role": "system", "content": "Caf\u00e9\nmenu"}])
    assert len(prompt_hash(a)) == 64
    assert normalize_text("  x\r\ny\rz  ") == "x\ny\nz"


def test_openai_chat_with_per_row_fields(project, alice, write_file):
    row = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Part one. "},
                    {"type": "text", "text": "Two."},
                ],
            },
        ],
        "external_id": "q-1",
        "metadata": {"topic": "billing"},
        "tags": ["billing", "urgent"],
        "priority": 5,
        "source": "support inbox",
        "licence": "CC-BY-4.0",
    }
    job = import_file(project=project, path=write_file("c.jsonl", [row]), user=alice)
    assert job.status == JobStatus.SUCCEEDED
    item = Item.objects.get()
    assert item.source == [{"role": "user", "content": "Part one. Two."}]
    assert (item.reference, item.model_draft) == ("", "")
    assert (item.external_id, item.tags, item.priority) == ("q-1", ["billing", "urgent"], 5)
    assert item.metadata["topic"] == "billing"
    assert (item.metadata["source"], item.metadata["licence"]) == ("support inbox", "CC-BY-4.0")
    assert item.prompt_hash == prompt_hash(item.source)
    assert (item.import_job_id, item.state) == (job.pk, "queued")


def test_answer_is_the_draft_in_correct_projects_and_the_reference_otherwise(
    project, correct_project, alice, write_file
):
    path = write_file("pc.jsonl", [{"prompt": "2+2?", "completion": " 4"}])
    import_file(project=project, path=path, user=alice)
    import_file(project=correct_project, path=path, user=alice)
    (written,) = items(project)
    (corrected,) = items(correct_project)
    assert (written.reference, written.model_draft) == ("4", "")
    assert (corrected.model_draft, corrected.reference) == ("4", "")
    assert written.source == [{"role": "user", "content": "2+2?"}]


def test_alpaca_jsonl_with_system_and_history(project, alice, write_file):
    row = {
        "instruction": "Translate",
        "input": "bonjour",
        "output": "hello",
        "system": "You translate.",
        "history": [["Hi", "Hello! What shall I translate?"]],
    }
    job = import_file(project=project, path=write_file("a.jsonl", [row]), user=alice)
    assert job.detected_format == "alpaca"
    item = Item.objects.get()
    assert item.source == [
        {"role": "system", "content": "You translate."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! What shall I translate?"},
        {"role": "user", "content": "Translate\nbonjour"},
    ]
    assert item.reference == "hello"
    assert item.metadata["prompt_parts"] == {"instruction": "Translate", "input": "bonjour"}


def test_alpaca_without_input_stores_no_parts(project, alice, write_file):
    row = {"instruction": "Say hi", "input": "  ", "output": "Hi"}
    import_file(project=project, path=write_file("a.json", json.dumps([row])), user=alice)
    assert "prompt_parts" not in Item.objects.get().metadata


def test_csv_input_column_keeps_its_parts(project, alice, write_file):
    path = write_file("t.csv", "instruction,input,output\nSum up,Long text.,Short.\n")
    import_file(project=project, path=path, user=alice)
    item = Item.objects.get()
    assert item.source == [{"role": "user", "content": "Sum up\nLong text."}]
    assert item.metadata["prompt_parts"] == {"instruction": "Sum up", "input": "Long text."}


def test_sharegpt_jsonl_prompt_only(project, alice, write_file):
    row = {
        "id": "c1",
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Why?"},
        ],
    }
    job = import_file(project=project, path=write_file("s.jsonl", [row]), user=alice)
    assert (job.detected_format, job.created) == ("sharegpt", 1)
    item = Item.objects.get()
    assert [m["role"] for m in item.source] == ["system", "user"]
    assert (item.reference, item.external_id) == ("", "c1")


def test_label_studio_export(project, alice, write_file):
    tasks = [
        {
            "id": 11,
            "data": {"prompt": "Summarise the policy.", "category": "hr"},
            "annotations": [
                {
                    "was_cancelled": True,
                    "result": [{"type": "textarea", "value": {"text": ["no"]}}],
                },
                {
                    "result": [
                        {"type": "textarea", "from_name": "answer", "value": {"text": ["Be kind."]}}
                    ]
                },
            ],
        },
        {"id": 12, "data": {"text": "Just a prompt"}, "annotations": []},
    ]
    job = import_file(project=project, path=write_file("ls.json", json.dumps(tasks)), user=alice)
    assert (job.status, job.detected_format, job.created) == (
        JobStatus.SUCCEEDED,
        "label-studio",
        2,
    )
    first, second = items(project)
    assert (first.source[0]["content"], first.reference) == ("Summarise the policy.", "Be kind.")
    assert first.external_id == "label-studio-11"
    assert first.metadata["fields"] == {"category": "hr"}
    assert (second.source[0]["content"], second.reference) == ("Just a prompt", "")


def test_csv_with_an_explicit_column_mapping(project, alice, write_file):
    data = "Question,Answer,Ref,Team\nWhere is it?,Over there,r1,ops\nWhen?,Now,r2,\n"
    job = import_file(
        project=project,
        path=write_file("q.csv", data),
        user=alice,
        options={"columns": {"prompt": "Question", "response": "Answer", "external_id": "Ref"}},
    )
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 2)
    first, second = items(project)
    assert (first.source[0]["content"], first.reference, first.external_id) == (
        "Where is it?",
        "Over there",
        "r1",
    )
    assert first.metadata["fields"] == {"Team": "ops"}
    assert "fields" not in second.metadata


def test_tsv_is_detected_and_columns_guessed(project, alice, write_file):
    data = "instruction\tinput\toutput\tpriority\nSum\t1 2\t3\t2\nHi\t\t\t\n"
    job = import_file(project=project, path=write_file("t.tsv", data), user=alice)
    assert (job.status, job.detected_format, job.created) == (JobStatus.SUCCEEDED, "csv", 2)
    first, second = items(project)
    assert (first.source[0]["content"], first.reference, first.priority) == ("Sum\n1 2", "3", 2)
    assert (second.source[0]["content"], second.reference) == ("Hi", "")


def test_csv_without_a_prompt_column_asks_for_a_mapping(project, alice, write_file):
    job = import_file(project=project, path=write_file("x.csv", "a,b\n1,2\n"), user=alice)
    assert job.status == JobStatus.FAILED
    assert job.message == "Choose which column holds the prompt (columns found: a, b)."


def test_bad_priority_in_csv_names_the_column(project, alice, write_file):
    data = "prompt,prio\nHi,soon\n"
    job = import_file(
        project=project,
        path=write_file("p.csv", data),
        user=alice,
        options={"columns": {"prompt": "prompt", "priority": "prio"}},
    )
    assert job.status == JobStatus.FAILED
    assert job.errors == [
        {"line": 2, "field": "prio", "message": "'prio' must be a whole number, not text."}
    ]


def test_duplicates_in_the_file_and_against_the_project(project, alice, write_file):
    make_item(project, "Already here?")
    rows = [
        {"prompt": "Already here?"},
        {"prompt": "New one?"},
        {"prompt": "  New one?\r\n"},
        {"prompt": "Other?"},
    ]
    path = write_file("d.jsonl", rows)
    job = import_file(project=project, path=path, user=alice)
    assert (job.status, job.duplicates, job.created) == (JobStatus.SUCCEEDED, 2, 4)
    assert "2 duplicate prompts imported anyway" in job.message
    skipped = import_file(project=project, path=path, user=alice, skip_duplicates=True)
    assert (skipped.duplicates, skipped.created) == (4, 0)
    assert Item.objects.filter(project=project).count() == 5


def test_skip_duplicates_keeps_the_first_occurrence(project, alice, write_file):
    rows = [{"prompt": "Same?"}, {"prompt": "Same?"}, {"prompt": "Different?"}]
    job = import_file(
        project=project, path=write_file("d.jsonl", rows), user=alice, skip_duplicates=True
    )
    assert (job.duplicates, job.created) == (1, 2)


def test_reimport_with_external_ids_is_idempotent(project, alice, write_file):
    rows = [{"prompt": f"Q{i}?", "completion": "A", "external_id": f"id-{i}"} for i in range(3)]
    path = write_file("ids.jsonl", rows)
    import_file(project=project, path=path, user=alice)
    rows.append({"prompt": "Q9?", "external_id": "id-9"})
    again = import_file(project=project, path=write_file("ids.jsonl", rows), user=alice)
    assert (again.existing, again.created, again.duplicates) == (3, 1, 0)
    assert Item.objects.filter(project=project).count() == 4


def test_job_level_source_and_licence(project, alice, write_file):
    rows = [{"prompt": "A?"}, {"prompt": "B?", "licence": "MIT"}]
    import_file(
        project=project,
        path=write_file("s.jsonl", rows),
        user=alice,
        options={"source": "hand-written", "licence": "CC0"},
    )
    a, b = items(project)
    assert (a.metadata["source"], a.metadata["licence"]) == ("hand-written", "CC0")
    assert b.metadata["licence"] == "MIT"
