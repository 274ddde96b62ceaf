"""Exports of other people's datasets, checked with the consumers' own rules.

Each third-party file is imported, approved, exported in every format, and the export is
checked the way its readers check it: OpenAI's published chat fine-tuning format checks
(re-implemented from the cookbook, with a real cl100k_base tokenizer for the token
limit), Hugging Face ``datasets.load_dataset("json", …)`` (offline), TRL's
``is_conversational`` rule and a chat template rendered the way ``transformers`` renders
it (a sandboxed Jinja environment with the same options), and LLaMA-Factory's ShareGPT
and Alpaca layouts. Also: export → import → export gives the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from exports import services as exports
from imports.services import import_file
from projects import services
from projects.models import Project
from tests.factories import approve_answered, make_item
from tests.services import require_datasets

# The import writes through its own database connection, so the test data must be committed.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:open_binary is deprecated:DeprecationWarning"),
]

# --- OpenAI's chat fine-tuning format checks (cookbook: Chat_finetuning_data_prep) -------

TOKEN_LIMIT = 16_385  # gpt-3.5-turbo / gpt-4o-mini fine-tuning context per example
_encoding: Any = None


def num_tokens_from_messages(messages: list[dict[str, Any]]) -> int:
    global _encoding
    if _encoding is None:
        import bpe_openai

        _encoding = bpe_openai.get_encoding("cl100k_base")
    tokens = 0
    for message in messages:
        tokens += 3
        for key, value in message.items():
            tokens += len(_encoding.encode(value))
            if key == "name":
                tokens += 1
    return tokens + 3


def openai_format_errors(examples: list[Any]) -> dict[str, int]:
    errors: dict[str, int] = defaultdict(int)
    for ex in examples:
        if not isinstance(ex, dict):
            errors["data_type"] += 1
            continue
        if set(ex) - {"messages"}:
            errors["example_unrecognized_key"] += 1
        messages = ex.get("messages")
        if not messages:
            errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                errors["message_missing_key"] += 1
            if any(
                k not in ("role", "content", "name", "function_call", "weight") for k in message
            ):
                errors["message_unrecognized_key"] += 1
            if message.get("role") not in ("system", "user", "assistant", "function"):
                errors["unrecognized_role"] += 1
            content = message.get("content")
            if (not content and not message.get("function_call")) or not isinstance(content, str):
                errors["missing_content"] += 1
        if not any(m.get("role") == "assistant" for m in messages):
            errors["example_missing_assistant_message"] += 1
        if num_tokens_from_messages(messages) > TOKEN_LIMIT:
            errors["over_token_limit"] += 1
    return dict(errors)


def test_openai_checks_catch_what_they_should():
    """The re-implemented checks are not a rubber stamp."""
    assert openai_format_errors([{"messages": [{"role": "user", "content": "hi"}]}]) == {
        "example_missing_assistant_message": 1
    }
    bad = [
        {"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": ""}]},
        {"messages": [], "extra": 1},
        {"messages": [{"role": "assistant", "content": "x " * 20_000}]},
    ]
    assert openai_format_errors(bad) == {
        "unrecognized_role": 1,
        "missing_content": 1,
        "example_unrecognized_key": 1,
        "missing_messages_list": 1,
        "over_token_limit": 1,
    }


# --- TRL's rule for conversational data, and chat-template rendering --------------------

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def is_conversational(example: dict[str, Any]) -> bool:
    """TRL ``trl.data_utils.is_conversational``."""
    supported = ["prompt", "chosen", "rejected", "completion", "messages"]
    keys = [k for k in example if k in supported]
    if keys:
        maybe = example[keys[0]]
        if isinstance(maybe, list) and maybe:
            first = maybe[0]
            if isinstance(first, dict) and "role" in first and "content" in first:
                return True
    return False


def render_chat(messages: list[dict[str, str]], *, add_generation_prompt: bool = False) -> str:
    """``tokenizer.apply_chat_template(messages, tokenize=False)`` as transformers does it:
    an ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls."""
    from jinja2.exceptions import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.globals["raise_exception"] = raise_exception
    return env.from_string(CHATML).render(
        messages=messages, add_generation_prompt=add_generation_prompt
    )


# --- helpers -----------------------------------------------------------------------------


def export(project: Project, **options: Any) -> bytes:
    job = exports.export_to_path(project=project, path=Path("/dev/null"), options=options)
    with exports.open_download(job=job) as handle:
        return handle.read()


def rows_of(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    lines = text.split("\n")[:-1]
    assert all(line == line.rstrip() for line in lines)
    return [json.loads(line) for line in lines]


def load_with_datasets(data: bytes, tmp_path: Path, name: str) -> Any:
    import os

    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets

    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(data)
    return datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )


DATASET_FILES = [
    ("openai-cookbook_toy_chat_fine_tuning.jsonl", "openai-chat"),
    ("self-instruct_seed_tasks.jsonl", "auto"),
    ("llama-factory_identity.json", "alpaca"),
    ("fastchat_dummy_conversation.json", "sharegpt"),
    ("oasst_en_100_tree.jsonl", "oasst"),
]


@pytest.mark.parametrize(("filename", "fmt"), DATASET_FILES)
def test_third_party_files_export_in_every_format_and_pass_consumers_checks(
    filename, fmt, alice, tmp_path
):
    folder = require_datasets()
    project = services.create_project(creator=alice, name=f"From {filename}", slug="third-party")
    job = import_file(
        project=project, path=folder / filename, user=alice, format=fmt, skip_invalid=True
    )
    assert job.status == "succeeded", (job.message, job.errors[:3])
    approved = approve_answered(project)
    assert approved > 0

    # openai-chat: OpenAI's checks, datasets, TRL's conversational rule and a chat template.
    data = export(project, format="openai-chat")
    chat = rows_of(data)
    assert len(chat) == approved
    assert openai_format_errors(chat) == {}
    loaded = load_with_datasets(data, tmp_path, "chat")
    assert loaded.num_rows == approved and loaded.column_names == ["messages"]
    assert all(is_conversational(example) for example in loaded)
    first = chat[0]["messages"]
    rendered = render_chat(first)
    assert rendered.endswith(f"<|im_start|>assistant\n{first[-1]['content']}<|im_end|>\n")
    prompt_only = render_chat(first[:-1], add_generation_prompt=True)
    assert rendered.startswith(prompt_only)

    # prompt-completion: TRL's standard (not conversational) prompt/completion strings.
    pc = rows_of(
        export(
            project,
            format="prompt-completion",
            template="User: {prompt}",
            separator="\n\n###\n\n",
            completion_prefix=" ",
            stop="\n",
        )
    )
    assert len(pc) == approved
    for row in pc:
        assert list(row) == ["prompt", "completion"] and not is_conversational(row)
        assert row["prompt"].startswith("User: ") and row["prompt"].endswith("\n\n###\n\n")
        assert row["completion"].startswith(" ") and row["completion"].endswith("\n")
    assert load_with_datasets(
        export(project, format="prompt-completion"), tmp_path, "pc"
    ).column_names == ["prompt", "completion"]

    # alpaca as LLaMA-Factory / axolotl read it.
    alpaca_data = export(project, format="alpaca")
    alpaca = rows_of(alpaca_data)
    assert all(list(r)[:3] == ["instruction", "input", "output"] for r in alpaca)
    assert all(set(r) <= {"instruction", "input", "output", "system", "history"} for r in alpaca)
    assert all(r["instruction"] and r["output"] for r in alpaca)
    assert load_with_datasets(alpaca_data, tmp_path, "alpaca").num_rows == approved

    # ShareGPT: human/gpt alternate after an optional system turn, ending on gpt.
    sharegpt = rows_of(export(project, format="sharegpt"))
    for row in sharegpt:
        turns = [t["from"] for t in row["conversations"]]
        if turns[0] == "system":
            turns = turns[1:]
        assert turns[-1] == "gpt"
        assert set(turns[0::2]) == {"human"} and set(turns[1::2]) == {"gpt"}

    # A split export: the zip's card front matter lets datasets find both splits. A split
    # that would leave one side empty (a tiny file) is refused before it runs.
    try:
        zipped = export(project, format="openai-chat", split={"validation": 0.2, "seed": 42})
    except ValidationError as exc:
        assert "would be empty" in exc.messages[0]
        return
    archive = zipfile.ZipFile(io.BytesIO(zipped))
    archive.extractall(tmp_path / "unzipped")
    import datasets

    both = datasets.load_dataset(str(tmp_path / "unzipped"), cache_dir=str(tmp_path / "hf-cache2"))
    assert set(both) == {"train", "validation"}
    assert json.loads(archive.read("manifest.json"))["files"][1]["rows"]
    assert sum(split.num_rows for split in both.values()) == approved


TRICKY = [
    ("Line one\nline two\n\nend", "Answer with a\nnew line"),
    ("Separator\u2028inside\u2029text", "Still one line\u2028here"),
    ("Emoji 🙂👍🏽 and ZWJ 👩\u200d💻", "🎉 done"),
    ("שלום, מה שלומך?", "טוב, תודה! مرحبا"),
    ("日本語のテキストと中文文本", "한국어 답변도 괜찮아요"),
    ('Quotes " and \\ backslash and \t tab', "</script> & <b>not html</b>"),
]


@pytest.mark.parametrize("fmt", ["openai-chat", "sharegpt", "alpaca", "prompt-completion"])
def test_export_import_export_gives_identical_bytes(fmt, alice, tmp_path):
    first_project = services.create_project(creator=alice, name="First", slug="first")
    for prompt, answer in TRICKY:
        make_item(first_project, prompt, answer=answer, state="approved")
    make_item(first_project, "With a system", answer="ok", system="Be brief 🙂", state="approved")
    first = export(first_project, format=fmt)
    assert "\u2028".encode() not in first

    path = tmp_path / f"export.{'json' if fmt == 'alpaca' else 'jsonl'}"
    path.write_bytes(first)
    second_project = services.create_project(creator=alice, name="Second", slug="second")
    job = import_file(project=second_project, path=path, user=alice, format=fmt)
    assert job.status == "succeeded", (job.message, job.errors[:3])
    assert approve_answered(second_project) == len(TRICKY) + 1
    assert export(second_project, format=fmt) == first
