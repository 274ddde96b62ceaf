"""The export's manifest and dataset card say which prompt version wrote the model
drafts that people corrected into the exported answers."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from assist.models import Generation, PromptVersion
from projects.models import Job
from tests.exports.test_export import export_bytes
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def drafted(item: Any, prompt: PromptVersion) -> None:
    job = Job.objects.create(project=item.project, kind="generation", status="succeeded")
    Generation.objects.create(job=job, prompt=prompt, item=item, output="Draft", applied=True)


def test_manifest_and_card_count_items_per_drafting_prompt_version(
    project: Any, alice: Any, api: Any
) -> None:
    v1 = PromptVersion.objects.create(project=project, name="support-v1", template="{{prompt}}")
    v2 = PromptVersion.objects.create(
        project=project, name="support-v2", template="{{prompt}}", parent=v1
    )
    items = [make_item(project, f"q{n}", answer=f"a{n}", state="approved") for n in range(40)]
    for item in items[:5]:
        drafted(item, v1)
    drafted(items[5], v1)
    drafted(items[5], v2)  # drafted again with v2: the latest draft counts
    trial = Job.objects.create(project=project, kind="generation", status="succeeded")
    Generation.objects.create(job=trial, prompt=v2, item=items[6], output="Trial", applied=False)
    split = {"validation": 0.1, "seed": 42}
    archive = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="openai-chat", split=split))
    )
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["stats"]["model_drafts"] == [
        {"prompt_version": v1.pk, "name": "support-v1", "items": 5},
        {"prompt_version": v2.pk, "name": "support-v2", "items": 1},
    ]
    card = archive.read("README.md").decode()
    assert "## Model drafts" in card
    assert f"| support-v1 | {v1.pk} | 5 |" in card and f"| support-v2 | {v2.pk} | 1 |" in card


def test_a_card_without_model_drafts_says_so(project: Any, alice: Any, api: Any) -> None:
    for n in range(20):
        make_item(project, f"q{n}", answer=f"a{n}", state="approved")
    split = {"validation": 0.2, "seed": 1}
    archive = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="openai-chat", split=split))
    )
    assert (
        "No answer started from a model draft written in Scriptorium."
        in archive.read("README.md").decode()
    )
