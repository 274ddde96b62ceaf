"""Each third-party dataset imports with the exact counts its README gives."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pytest

from annotation.messages import normalize_text
from annotation.models import Item
from core.models import JobStatus
from imports.pipeline import NO_USER_TURN
from imports.services import import_file
from tests.services import require_datasets

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_openai_cookbook_row_without_user_is_invalid_and_nothing_is_imported(project, alice):
    path = require_datasets() / "openai-cookbook_toy_chat_fine_tuning.jsonl"
    job = import_file(project=project, path=path, user=alice)
    assert (job.status, job.detected_format) == (JobStatus.FAILED, "openai-chat")
    assert (job.total, job.valid, job.invalid, job.created) == (5, 4, 1, 0)
    assert job.errors == [{"line": 4, "field": "messages", "message": NO_USER_TURN}]
    assert "1 of 5 rows are invalid, so nothing was imported" in job.message
    assert Item.objects.count() == 0


def test_openai_cookbook_with_skip_invalid(correct_project, alice):
    path = require_datasets() / "openai-cookbook_toy_chat_fine_tuning.jsonl"
    job = import_file(project=correct_project, path=path, user=alice, skip_invalid=True)
    assert (job.status, job.created, job.invalid) == (JobStatus.SUCCEEDED, 4, 1)
    items = list(Item.objects.filter(import_job=job).order_by("id"))
    assert len(items) == 4
    first = items[0]
    assert [m["role"] for m in first.source] == ["system", "user"]
    assert first.model_draft == "It's great that you're getting exercise outdoors!"
    assert first.reference == ""
    assert first.state == "queued"
    # The 9-message chat keeps its earlier assistant turns in the source.
    roles = [[m["role"] for m in item.source] for item in items]
    assert [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ] in roles
    assert any(r == ["user"] for r in roles)  # the chat with no system message
    # Row 5: "Eat a banana!" 2,000 times, kept whole.
    banana = json.loads(path.read_text().splitlines()[4])["messages"][-1]["content"]
    assert banana.count("Eat a banana!") == 2000
    assert items[-1].model_draft == banana.strip()


def test_self_instruct_seed_tasks(project, alice):
    path = require_datasets() / "self-instruct_seed_tasks.jsonl"
    job = import_file(project=project, path=path, user=alice)
    assert (job.status, job.detected_format) == (JobStatus.SUCCEEDED, "alpaca")
    assert (job.total, job.created, job.invalid) == (175, 175, 0)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert len(items) == 175
    empty_input = [r for r in rows if not r["instances"][0]["input"].strip()]
    assert len(empty_input) == 50
    for row in empty_input:
        assert items[row["id"]].source[0]["content"] == row["instruction"].strip()
    with_input = next(r for r in rows if "\n" in r["instances"][0]["input"])
    prompt = items[with_input["id"]].source[0]["content"]
    assert prompt == f"{with_input['instruction']}\n{with_input['instances'][0]['input']}".strip()
    assert items["seed_task_0"].metadata["fields"]["name"] == "breakfast_suggestion"
    assert "prompt_parts" not in items[empty_input[0]["id"]].metadata


def test_self_instruct_keeps_instruction_and_input_apart(project, alice):
    """The user turn joins them for the annotator; the parts stay for the exporter."""
    path = require_datasets() / "self-instruct_seed_tasks.jsonl"
    import_file(project=project, path=path, user=alice)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    with_input = [r for r in rows if r["instances"][0]["input"].strip()]
    assert len(with_input) == 125
    for row in with_input:
        item = items[row["id"]]
        parts = item.metadata["prompt_parts"]
        assert parts == {"instruction": row["instruction"], "input": row["instances"][0]["input"]}
        joined = normalize_text(f"{parts['instruction']}\n{parts['input']}")
        assert item.source[-1] == {"role": "user", "content": joined}
        assert item.reference == normalize_text(row["instances"][0]["output"])
    assert sum(1 for i in items.values() if not i.source[0]["content"].isascii()) >= 1


def test_llama_factory_identity_keeps_chinese_and_placeholders(project, alice):
    path = require_datasets() / "llama-factory_identity.json"
    job = import_file(project=project, path=path, user=alice)
    assert (job.status, job.detected_format) == (JobStatus.SUCCEEDED, "alpaca")
    assert (job.total, job.created, job.invalid, job.duplicates) == (91, 91, 0, 2)
    items = list(Item.objects.filter(project=project))
    chinese = [i for i in items if CJK.search(i.source[0]["content"] + i.reference)]
    assert len(chinese) == 75
    assert sum("{{name}}" in i.reference for i in items) == 77
    assert sum("{{author}}" in i.reference for i in items) == 60
    upstream = json.loads(path.read_text())
    assert {i.reference for i in items} == {r["output"].strip() for r in upstream}


def test_fastchat_sharegpt_conversations(correct_project, alice):
    path = require_datasets() / "fastchat_dummy_conversation.json"
    job = import_file(project=correct_project, path=path, user=alice)
    assert (job.status, job.detected_format) == (JobStatus.SUCCEEDED, "sharegpt")
    assert (job.total, job.created, job.invalid) == (500, 500, 0)
    turns = Counter(
        len(i.source) + 1 for i in Item.objects.filter(project=correct_project) if i.model_draft
    )
    assert turns == {2: 167, 4: 166, 6: 167}
    assert Item.objects.filter(project=correct_project, external_id="identity_0").exists()


def test_fastchat_reimport_creates_nothing_and_says_so(project, alice):
    path = require_datasets() / "fastchat_dummy_conversation.json"
    import_file(project=project, path=path, user=alice)
    again = import_file(project=project, path=path, user=alice)
    assert (again.status, again.created, again.existing) == (JobStatus.SUCCEEDED, 0, 500)
    assert "500 already in the project" in again.message
    assert Item.objects.filter(project=project).count() == 500


def test_oasst_trees_flatten_into_626_paths(project, alice):
    path = require_datasets() / "oasst_en_100_tree.jsonl"
    job = import_file(project=project, path=path, user=alice)
    assert (job.status, job.detected_format) == (JobStatus.SUCCEEDED, "oasst")
    assert (job.total, job.created, job.invalid) == (626, 626, 0)
    items = Item.objects.filter(project=project)
    assert items.exclude(reference="").count() == 400
    assert items.filter(reference="").count() == 226
    trees = {i.metadata["oasst"]["tree_id"] for i in items}
    assert len(trees) == 100
    assert max(len(i.source) for i in items) <= 6


def test_oasst_prompts_only(project, alice):
    path = require_datasets() / "oasst_en_100_tree.jsonl"
    job = import_file(project=project, path=path, user=alice, options={"oasst_mode": "prompts"})
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 100)
    items = Item.objects.filter(project=project)
    assert all(len(i.source) == 1 and i.source[0]["role"] == "user" for i in items)
    assert items.filter(reference="").count() == 100


def test_gzipped_dataset_imports_the_same(project, alice, tmp_path):
    path = require_datasets() / "fastchat_dummy_conversation.json"
    packed = tmp_path / "conversations.json.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    job = import_file(project=project, path=packed, user=alice)
    assert (job.status, job.detected_format, job.created) == (JobStatus.SUCCEEDED, "sharegpt", 500)
