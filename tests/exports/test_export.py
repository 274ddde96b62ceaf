"""Exports: each format's rows, split, dedup, filters, manifest, card, same bytes
everywhere, snapshot isolation, and who may export."""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from typing import Any

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from core.models import JobStatus
from exports import build as export_build
from exports import options as export_options
from exports import services as exports
from exports.formats import SHAREGPT_TRL_NOTE
from exports.models import ExportJob
from exports.split import in_validation, split_key
from projects.models import TaskType
from reviews.models import Decision, Review, ReviewStage
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def start(api: Any, user: Any, project: Any, **options: Any) -> Any:
    """POST the export; its build (enqueued on commit) runs in-process at once."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api(user).post(f"/api/v1/projects/{project.pk}/exports/", options, format="json")


def export_bytes(api: Any, user: Any, project: Any, **options: Any) -> bytes:
    response = start(api, user, project, **options)
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    detail = api(user).get(f"/api/v1/exports/{job_id}/").json()
    assert detail["status"] == "succeeded", detail
    download = api(user).get(f"/api/v1/exports/{job_id}/download/")
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def lines(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def test_openai_chat_rows_are_exact_and_only_approved(project, alice, api):
    make_item(project, "Reset my password?", answer="Click “Forgot password”.", state="approved")
    make_item(project, "Not reviewed yet", answer="draft", state=State.IN_REVIEW)
    make_item(
        project, 'Quoted "text"\nand a line', answer="Ok 🙂", system="Be brief.", state="approved"
    )

    data = export_bytes(api, alice, project, format="openai-chat")

    assert (
        data
        == (
            '{"messages":[{"role":"user","content":"Reset my password?"},'
            '{"role":"assistant","content":"Click “Forgot password”."}]}\n'
            '{"messages":[{"role":"system","content":"Be brief."},'
            '{"role":"user","content":"Quoted \\"text\\"\\nand a line"},'
            '{"role":"assistant","content":"Ok 🙂"}]}\n'
        ).encode()
    )


def test_line_separators_are_escaped_so_line_readers_do_not_split(project, alice, api):
    make_item(project, "a\u2028b\u2029c", answer="ok", state="approved")
    data = export_bytes(api, alice, project, format="openai-chat")
    assert "\u2028".encode() not in data
    assert len(data.decode().splitlines()) == 1
    assert lines(data)[0]["messages"][0]["content"] == "a\u2028b\u2029c"


def test_prompt_completion_applies_template_prefix_separator_and_stop(project, alice, api):
    make_item(project, "Where is my invoice?", answer="In Settings.", state="approved")
    make_item(project, "Cancel?", answer="Yes.", state="approved")
    data = export_bytes(
        api,
        alice,
        project,
        format="prompt-completion",
        template="User: {prompt}",
        completion_prefix=" CloudSync Pro Support: ",
        separator="\n\n###\n\n",
        stop=" END",
    )
    rows = lines(data)
    assert rows[0] == {
        "prompt": "User: Where is my invoice?\n\n###\n\n",
        "completion": " CloudSync Pro Support: In Settings. END",
    }
    assert all(
        r["prompt"].endswith("\n\n###\n\n") and r["completion"].endswith(" END") for r in rows
    )
    assert list(rows[0]) == ["prompt", "completion"]


def test_alpaca_and_sharegpt_shapes(project, alice, api):
    make_item(
        project, "Summarise this.", answer="Short.", system="You summarise.", state="approved"
    )
    alpaca = lines(export_bytes(api, alice, project, format="alpaca"))
    assert alpaca == [
        {
            "instruction": "Summarise this.",
            "input": "",
            "output": "Short.",
            "system": "You summarise.",
        }
    ]
    sharegpt = lines(export_bytes(api, alice, project, format="sharegpt"))
    assert sharegpt == [
        {
            "conversations": [
                {"from": "system", "value": "You summarise."},
                {"from": "human", "value": "Summarise this."},
                {"from": "gpt", "value": "Short."},
            ]
        }
    ]


def test_multi_turn_alpaca_keeps_history(project, alice, api):
    item = make_item(project, "first", state="approved")
    revision = Revision.objects.create(
        item=item,
        kind=RevisionKind.SUBMISSION,
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "one"},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": "two"},
        ],
    )
    Item.objects.filter(pk=item.pk).update(current_revision=revision)
    (row,) = lines(export_bytes(api, alice, project, format="alpaca"))
    assert row["instruction"] == "second"
    assert row["output"] == "two"
    assert row["history"] == [["first", "one"]]


def test_system_prompt_is_added_only_where_missing(project, alice, api):
    make_item(project, "a", answer="b", state="approved")
    make_item(project, "c", answer="d", system="Own system.", state="approved")
    rows = lines(export_bytes(api, alice, project, format="openai-chat", system_prompt="Be kind."))
    assert [r["messages"][0] for r in rows] == [
        {"role": "system", "content": "Be kind."},
        {"role": "system", "content": "Own system."},
    ]


def test_preference_pairs_correction_against_draft_and_skips_unchanged(project, alice, api):
    project.task_type = TaskType.CORRECT
    project.save(update_fields=["task_type"])
    make_item(project, "Fix me", draft="Teh answer", answer="The answer", state="approved")
    make_item(project, "Unchanged", draft="Fine already", answer="Fine already", state="approved")
    rows = lines(export_bytes(api, alice, project, format="preference"))
    assert rows == [
        {
            "prompt": [{"role": "user", "content": "Fix me"}],
            "chosen": [{"role": "assistant", "content": "The answer"}],
            "rejected": [{"role": "assistant", "content": "Teh answer"}],
        }
    ]
    job = ExportJob.objects.get(format="preference")
    assert job.manifest["skipped"] == 1


def test_preference_pairs_overlap_pick_against_answers_not_picked(project, alice, rita, anna, api):
    item = make_item(
        project, "Which is best?", answer="Picked answer", author=anna, state="approved"
    )
    other = Revision.objects.create(
        item=item,
        kind=RevisionKind.SUBMISSION,
        author=alice,
        messages=[
            {"role": "user", "content": "Which is best?"},
            {"role": "assistant", "content": "Other answer"},
        ],
    )
    assert item.current_revision is not None
    Review.objects.create(
        item=item,
        revision=item.current_revision,
        stage=0,
        reviewer=rita,
        decision=Decision.APPROVE,
        alternatives=[other.pk],
    )
    rows = lines(export_bytes(api, alice, project, format="preference"))
    assert rows == [
        {
            "prompt": [{"role": "user", "content": "Which is best?"}],
            "chosen": [{"role": "assistant", "content": "Picked answer"}],
            "rejected": [{"role": "assistant", "content": "Other answer"}],
        }
    ]


def test_preference_with_nothing_to_pair_is_a_clear_400_on_the_api_and_the_page(
    project, alice, api, client
):
    """A `write` project, approved items, no model drafts and no overlap: no pair can come
    out, so the export is refused before any job (it used to succeed with 0 bytes)."""
    for n in range(3):
        make_item(project, f"q{n}", answer=f"a{n}", state="approved")
    response = start(api, alice, project, format="preference")
    assert response.status_code == 400
    assert response.json()["detail"] == exports.ERR_NO_PAIRS
    # With a tag filter too (applied in Python).
    make_item(project, "tagged", answer="x", state="approved", tags=["t"])
    response = start(api, alice, project, format="preference", filters={"tags": ["t"]})
    assert response.json()["detail"] == exports.ERR_NO_PAIRS
    client.force_login(alice)
    page = client.post(reverse("export", args=[project.slug]), {"format": "preference"})
    assert page.status_code == 400
    assert html.escape(exports.ERR_NO_PAIRS) in page.content.decode()
    assert not ExportJob.objects.exists()
    # Other formats still export these items.
    assert len(lines(export_bytes(api, alice, project, format="openai-chat"))) == 4


def test_preference_whose_drafts_were_all_left_unchanged_fails_instead_of_an_empty_file(
    project, alice, api
):
    project.task_type = TaskType.CORRECT
    project.save(update_fields=["task_type"])
    make_item(project, "Fine", draft="Fine already", answer="Fine already", state="approved")
    response = start(api, alice, project, format="preference")
    assert response.status_code == 202
    detail = api(alice).get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert detail["status"] == "failed"
    assert export_build.ERR_NO_PAIRS in detail["message"]
    assert detail["download_url"] is None


def test_a_split_with_an_empty_side_is_a_clear_400_before_it_runs(
    project, alice, api, django_assert_max_num_queries
):
    item = make_item(project, "only one", answer="a", state="approved")
    key = split_key(item_id=item.pk, external_id=None)
    to_train = next(s for s in range(100) if not in_validation(key, fraction=0.5, seed=s))
    to_validation = next(s for s in range(100) if in_validation(key, fraction=0.5, seed=s))
    response = start(api, alice, project, format="openai-chat", split={"seed": to_train})
    assert response.status_code == 400
    assert response.json()["detail"] == exports.ERR_SPLIT_NO_VALIDATION.format(
        validation=0.1, seed=to_train, items=1
    )
    response = start(
        api, alice, project, format="openai-chat", split={"validation": 0.5, "seed": to_validation}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == exports.ERR_SPLIT_NO_TRAIN.format(
        validation=0.5, seed=to_validation, items=1
    )
    assert not ExportJob.objects.exists()
    # Enough items: both sides have some, and telling so reads a handful of keys in one
    # query, not the export.
    for n in range(300):
        make_item(project, f"q{n}", answer="a", state="approved")
    normalized = export_options.normalize_options(
        project=project, options={"format": "openai-chat", "split": {"validation": 0.1}}
    )
    with django_assert_max_num_queries(2):
        exports.check_exportable(project, normalized)
    sides, read = export_options.split_sides(project, normalized["filters"], normalized["split"])
    assert sides == {"train", "validation"} and read < 100


def test_same_options_same_bytes_and_cli_matches_api(project, alice, api, tmp_path):
    for n in range(30):
        make_item(project, f"question {n} 日本語 עברית", answer=f"answer {n}", state="approved")
    first = export_bytes(
        api, alice, project, format="openai-chat", split={"validation": 0.2, "seed": 7}
    )
    second = export_bytes(
        api, alice, project, format="openai-chat", split={"validation": 0.2, "seed": 7}
    )
    assert first == second
    out = tmp_path / "cli.zip"
    call_command(
        "export_dataset", "support", "--format", "openai-chat", "--out", str(out),
        "--validation", "0.2", "--seed", "7", stdout=io.StringIO(),
    )  # fmt: skip
    assert out.read_bytes() == first
    plain = export_bytes(api, alice, project, format="sharegpt", dedup=True)
    out = tmp_path / "cli.jsonl"
    call_command(
        "export_dataset", "support", "--format", "sharegpt", "--out", str(out), "--dedup",
        stdout=io.StringIO(),
    )  # fmt: skip
    assert out.read_bytes() == plain


def test_split_zip_has_files_manifest_and_card_and_is_stable(project, alice, api):
    items = [make_item(project, f"q{n}", answer=f"a{n}", state="approved") for n in range(200)]
    split = {"validation": 0.1, "seed": 42}
    archive = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="openai-chat", split=split))
    )
    assert archive.namelist() == ["train.jsonl", "validation.jsonl", "manifest.json", "README.md"]
    manifest = json.loads(archive.read("manifest.json"))
    train, validation = manifest["files"]
    assert train["rows"] + validation["rows"] == 200
    assert 5 <= validation["rows"] <= 40
    expected_validation = [
        i.current_revision_id
        for i in items
        if in_validation(split_key(item_id=i.pk, external_id=None), fraction=0.1, seed=42)
    ]
    assert validation["revision_ids"] == expected_validation
    assert sorted(train["revision_ids"] + validation["revision_ids"]) == sorted(
        i.current_revision_id or 0 for i in items
    )
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
    card = archive.read("README.md").decode()
    assert "path: validation.jsonl" in card and "| validation.jsonl | " in card
    assert "alice" not in card and "anna" not in card

    # New approved items never move existing ones across the split.
    for n in range(50):
        make_item(project, f"new{n}", answer="x", state="approved")
    again = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="openai-chat", split=split))
    )
    later = json.loads(again.read("manifest.json"))["files"][1]["revision_ids"]
    assert set(expected_validation) <= set(later)
    # A different seed gives a different split.
    other = zipfile.ZipFile(
        io.BytesIO(
            export_bytes(
                api, alice, project, format="openai-chat", split={"validation": 0.1, "seed": 1}
            )
        )
    )
    assert json.loads(other.read("manifest.json"))["files"][1]["revision_ids"] != later


def test_dedup_removes_exact_duplicate_rows(project, alice, api):
    make_item(project, "same", answer="same answer", state="approved")
    make_item(project, "same", answer="same answer", state="approved")
    make_item(project, "same", answer="different answer", state="approved")
    assert len(lines(export_bytes(api, alice, project, format="openai-chat"))) == 3
    assert len(lines(export_bytes(api, alice, project, format="openai-chat", dedup=True))) == 2
    job = ExportJob.objects.filter(options__dedup=True).get()
    assert job.manifest["duplicates_removed"] == 1


def test_metadata_key_carries_ids_tags_and_source(project, alice, api):
    item = make_item(
        project, "q", answer="a", state="approved", external_id="ext-1", tags=["billing"],
        metadata={"source": "tickets", "license": "CC-BY-4.0"},
    )  # fmt: skip
    (row,) = lines(export_bytes(api, alice, project, format="openai-chat", include_metadata=True))
    assert row["metadata"] == {
        "external_id": "ext-1",
        "item_id": item.pk,
        "revision_id": item.current_revision_id,
        "tags": ["billing"],
        "source": "tickets",
        "license": "CC-BY-4.0",
    }


def test_filters_by_tag_stage_annotator_and_date(project, alice, rita, anna, api):
    tagged = make_item(project, "tagged", answer="a", state="approved", tags=["billing"])
    by_anna = make_item(project, "anna's", answer="b", state="approved", author=anna)
    staged = make_item(project, "stage 1", answer="c", state="approved")
    assert staged.current_revision is not None
    Review.objects.create(
        item=staged,
        revision=staged.current_revision,
        stage=1,
        reviewer=rita,
        decision=Decision.APPROVE,
    )

    def contents(**filters: Any) -> list[str]:
        data = export_bytes(api, alice, project, format="openai-chat", filters=filters)
        return [r["messages"][0]["content"] for r in lines(data)]

    assert contents(tags=["billing"]) == ["tagged"]
    assert contents(annotator="anna") == ["anna's"]
    assert contents(stage=1) == ["stage 1"]
    today = tagged.state_changed_at.date().isoformat()
    assert len(contents(approved_from=today, approved_to=today)) == 3
    response = start(
        api, alice, project, format="openai-chat", filters={"approved_to": "2000-01-01"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == exports.ERR_NOTHING
    assert by_anna.pk


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "csv"}, export_options.ERR_FORMAT),
        ({}, export_options.ERR_FORMAT),
        ({"format": "openai-chat", "split": {"validation": 2}}, export_options.ERR_VALIDATION),
        ({"format": "openai-chat", "split": {"validation": "x"}}, export_options.ERR_VALIDATION),
        (
            {"format": "openai-chat", "split": {"validation": 0.1, "seed": "abc"}},
            export_options.ERR_SEED,
        ),
        ({"format": "openai-chat", "split": [0.1]}, export_options.ERR_SPLIT),
        ({"format": "openai-chat", "dedup": "maybe"}, export_options.ERR_BOOL.format(name="dedup")),
        ({"format": "prompt-completion", "template": "no slot"}, export_options.ERR_TEMPLATE),
        ({"format": "openai-chat", "stop": "END"}, export_options.ERR_PROMPT_COMPLETION_ONLY),
        (
            {"format": "openai-chat", "filters": {"approved_from": "yesterday"}},
            export_options.ERR_DATE,
        ),
        (
            {"format": "openai-chat", "filters": {"annotator": "nobody"}},
            export_options.ERR_ANNOTATOR.format(name="nobody"),
        ),
        (
            {"format": "openai-chat", "colour": "red"},
            export_options.ERR_UNKNOWN.format(names="colour"),
        ),
    ],
)
def test_bad_options_are_a_clear_400(project, alice, api, options, message):
    make_item(project, "q", answer="a", state="approved")
    response = start(api, alice, project, **options)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ExportJob.objects.exists()


def test_only_project_admins_and_staff_export_and_foreign_exports_are_404(
    project, other_project, alice, rita, anna, oscar, sam, api
):
    make_item(project, "q", answer="a", state="approved")
    make_item(other_project, "theirs", answer="secret", state="approved")
    assert start(api, rita, project, format="openai-chat").status_code == 403
    assert start(api, anna, project, format="openai-chat").status_code == 403
    assert start(api, oscar, project, format="openai-chat").status_code == 404
    assert start(api, sam, project, format="openai-chat").status_code == 202
    job_id = start(api, alice, project, format="openai-chat").json()["id"]
    theirs = start(api, oscar, other_project, format="openai-chat").json()["id"]
    for path in (f"/api/v1/exports/{job_id}/", f"/api/v1/exports/{job_id}/download/"):
        assert api(alice).get(path).status_code == 200
        assert api(sam).get(path).status_code == 200
        assert api(rita).get(path).status_code == 403
        assert api(anna).get(path).status_code == 403
        assert api(oscar).get(path).status_code == 404
    for path in (f"/api/v1/exports/{theirs}/", f"/api/v1/exports/{theirs}/download/"):
        assert api(alice).get(path).status_code == 404
    assert api(alice).get("/api/v1/exports/999999/").status_code == 404


def test_unfinished_export_cannot_be_downloaded(project, alice, api):
    make_item(project, "q", answer="a", state="approved")
    job = ExportJob.objects.create(
        project=project, format="openai-chat", options={}, status=JobStatus.RUNNING
    )
    response = api(alice).get(f"/api/v1/exports/{job.pk}/download/")
    assert response.status_code == 400
    assert response.json()["detail"] == exports.ERR_NOT_READY


def test_snapshot_isolation_items_changed_during_the_export_are_not_half_in_it(
    project, alice, rita
):
    """Phase 1 (snapshot) then phase 2 (stream), with approvals and an edit in between:
    the export contains exactly the snapshot's revisions."""
    before = [make_item(project, f"q{n}", answer=f"a{n}", state="approved") for n in range(5)]
    normalized = export_options.normalize_options(
        project=project, options={"format": "openai-chat"}
    )
    job = ExportJob.objects.create(project=project, format="openai-chat", options=normalized)
    claimed = exports._claim(job.pk)
    assert claimed is not None
    snapshot = export_build.take_snapshot(claimed)

    # While the export runs: two items get approved, one exported item gets a new revision.
    make_item(project, "late", answer="late", state="approved")
    make_item(project, "later", answer="later", state="approved")
    edited = Revision.objects.create(
        item=before[0], kind=RevisionKind.REVIEWER_EDIT, author=rita,
        messages=[{"role": "user", "content": "q0"}, {"role": "assistant", "content": "EDITED"}],
    )  # fmt: skip
    Item.objects.filter(pk=before[0].pk).update(current_revision=edited)

    claimed.refresh_from_db()
    export_build.write_export(claimed)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert list(snapshot) == [i.current_revision_id for i in before]
    with exports.open_download(job=job) as handle:
        rows = lines(handle.read())
    assert [r["messages"][1]["content"] for r in rows] == [f"a{n}" for n in range(5)]
    with exports.open_download(job=job, manifest=True) as handle:
        manifest = json.loads(handle.read())
    assert manifest["files"][0]["revision_ids"] == [i.current_revision_id for i in before]


def test_finished_job_is_not_rebuilt_and_a_retry_reuses_the_snapshot(project, alice, api):
    make_item(project, "q", answer="a", state="approved")
    job_id = start(api, alice, project, format="openai-chat").json()["id"]
    job = ExportJob.objects.get(pk=job_id)
    assert exports.build_export(job_id=job_id) is None  # already done: left alone
    # A job whose worker died mid-way (running, silent) is taken over and finishes.
    ExportJob.objects.filter(pk=job_id).update(status=JobStatus.RUNNING, heartbeat_at=None)
    make_item(project, "approved after the snapshot", answer="b", state="approved")
    rebuilt = exports.build_export(job_id=job_id)
    assert rebuilt is not None and rebuilt.status == JobStatus.SUCCEEDED
    assert rebuilt.attempts == 2
    assert rebuilt.sha256 == job.sha256
    assert rebuilt.rows == 1


def test_export_page_starts_export_and_lists_history(
    project, alice, client, django_assert_max_num_queries
):
    for n in range(6):  # enough for both sides of the split
        make_item(project, f"q{n}", answer="a", state="approved")
    client.force_login(alice)
    url = reverse("export", args=[project.slug])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            url, {"format": "openai-chat", "validation": "0.5", "seed": "3", "template": "{prompt}"}
        )
    assert response.status_code == 302
    for _ in range(3):
        exports.create_export(project=project, user=alice, options={"format": "sharegpt"})
    # session, user, project, membership, stages, members, history
    with django_assert_max_num_queries(9):
        page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    job = ExportJob.objects.filter(format="openai-chat").get()
    assert f"/projects/support/export/{job.pk}/download/" in body
    assert job.sha256[:10] in body
    download = client.get(f"/projects/support/export/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].endswith('.zip"')


def test_export_page_shows_form_errors(project, alice, anna, client):
    client.force_login(alice)
    url = reverse("export", args=[project.slug])
    response = client.post(url, {"format": "openai-chat"})
    assert response.status_code == 400
    assert exports.ERR_NOTHING in response.content.decode()
    client.force_login(anna)
    assert client.get(url).status_code == 403


def test_api_list_and_detail_use_a_fixed_number_of_queries(
    project, alice, api, django_assert_num_queries
):
    make_item(project, "q", answer="a", state="approved")
    ids = [start(api, alice, project, format=f).json()["id"] for f in ("openai-chat", "alpaca")]
    client = api(alice)
    # project, membership, exports (with project and creator joined)
    with django_assert_num_queries(3):
        listed = client.get(f"/api/v1/projects/{project.pk}/exports/").json()
    assert [job["id"] for job in listed] == ids[::-1]
    assert listed[0]["manifest"]["rows"] == 1 and "revision_ids" not in listed[0]["files"][0]
    # export (with project and creator joined), project, membership
    with django_assert_num_queries(3):
        detail = client.get(f"/api/v1/exports/{ids[0]}/").json()
    assert detail["files"][0]["rows"] == 1
    assert detail["download_url"] == f"/api/v1/exports/{ids[0]}/download/"
    manifest = client.get(detail["manifest_url"])
    assert json.loads(b"".join(manifest.streaming_content))["files"][0]["revision_ids"]


def test_sharegpt_help_and_card_send_trl_users_to_openai_chat(project, alice, api, client):
    client.force_login(alice)
    body = client.get(reverse("export", args=[project.slug])).content.decode()
    help_block = body.split('id="format-help"', 1)[1].split("</ul>", 1)[0]
    sharegpt_help = next(li for li in help_block.split("<li>") if "<code>sharegpt</code>" in li)
    assert html.escape(SHAREGPT_TRL_NOTE) in sharegpt_help
    assert "openai-chat" in SHAREGPT_TRL_NOTE and "TRL" in SHAREGPT_TRL_NOTE
    for n in range(20):
        make_item(project, f"q{n}", answer=f"a{n}", state="approved")
    split = {"validation": 0.2, "seed": 1}
    archive = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="sharegpt", split=split))
    )
    assert SHAREGPT_TRL_NOTE in archive.read("README.md").decode()
    archive = zipfile.ZipFile(
        io.BytesIO(export_bytes(api, alice, project, format="openai-chat", split=split))
    )
    assert SHAREGPT_TRL_NOTE not in archive.read("README.md").decode()


def test_stage_filter_numbers_stages_from_1_but_keeps_the_stored_value(project, alice, client):
    ReviewStage.objects.create(project=project, position=1, name="Expert")
    item = make_item(project, "q", answer="a", state="approved")
    assert item.current_revision is not None
    Review.objects.create(
        item=item, revision=item.current_revision, stage=0, decision=Decision.APPROVE
    )
    client.force_login(alice)
    url = reverse("export", args=[project.slug])
    body = client.get(url).content.decode()
    select = body.split('name="stage"', 1)[1].split("</select>", 1)[0]
    assert '<option value="0">1: Review</option>' in select
    assert '<option value="1">2: Expert</option>' in select
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(url, {"format": "openai-chat", "stage": "0"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.options["filters"]["stage"] == 0  # the API value: 0 is the first stage
    history = client.get(url).content.decode().split('id="history"', 1)[1]
    assert "stage ≥ 1" in history and "stage ≥ 0" not in history
