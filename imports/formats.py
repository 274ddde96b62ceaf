"""Every import format, read into one shape: a :class:`~imports.fields.Candidate` conversation with its
optional per-row fields. Which format a file is in is guessed from its first row."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from imports.fields import (
    PROMPT_PARTS,
    WRONG_TYPE,
    Candidate,
    common_fields,
    extras,
    kind_of,
    message_list,
    require,
    role_of,
    text_of,
)
from imports.files import RowError

OPENAI_CHAT = "openai-chat"
PROMPT_COMPLETION = "prompt-completion"
ALPACA = "alpaca"
SHAREGPT = "sharegpt"
OASST = "oasst"
CSV = "csv"
LABEL_STUDIO = "label-studio"

FORMATS: dict[str, str] = {
    OPENAI_CHAT: "OpenAI chat (messages)",
    PROMPT_COMPLETION: "Prompt / completion",
    ALPACA: "Alpaca (instruction, input, output)",
    SHAREGPT: "ShareGPT (conversations, from/value)",
    OASST: "OpenAssistant message trees",
    LABEL_STUDIO: "Label Studio JSON export",
    CSV: "CSV / TSV with a column mapping",
}

OASST_PATHS = "paths"
OASST_PROMPTS = "prompts"

# --- the formats ------------------------------------------------------------------------


def read_openai_chat(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    messages = require(row, "messages", hint="; is this an OpenAI chat file?")
    candidate = Candidate(message_list(messages, "messages", "role", "content"))
    common_fields(row, candidate, id_keys=("id",))
    extras(row, {"messages", "id", "weight"}, candidate)
    yield candidate


def _turns(value: Any, name: str) -> list[tuple[str, str]]:
    if isinstance(value, list):
        return message_list(value, name, "role", "content")
    return [("user" if name == "prompt" else "assistant", text_of(value, name))]


def read_prompt_completion(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    prompt = require(row, "prompt", hint="; is this a prompt/completion file?")
    messages = _turns(prompt, "prompt")
    if row.get("system") is not None:
        messages.insert(0, ("system", text_of(row["system"], "system")))
    for key in ("completion", "response"):
        if row.get(key) is not None:
            messages += _turns(row[key], key)
            break
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    extras(row, {"prompt", "completion", "response", "system", "id"}, candidate)
    yield candidate


def read_alpaca(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    instruction = text_of(
        require(row, "instruction", hint="; is this an Alpaca file?"), "instruction"
    )
    source: dict[str, Any] = row
    instances = row.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        source = instances[0]  # Self-Instruct seed tasks: one instance per task
        where = "instances[0]."
    else:
        where = ""
    extra = text_of(source.get("input"), f"{where}input", required=False)
    output = text_of(source.get("output"), f"{where}output", required=False)
    messages: list[tuple[str, str]] = []
    if row.get("system") is not None:
        messages.append(("system", text_of(row["system"], "system")))
    history = row.get("history")
    if history is not None:
        if not isinstance(history, list):
            raise RowError(
                WRONG_TYPE.format(
                    field="history",
                    expected="a list of [prompt, answer] pairs",
                    kind=kind_of(history),
                ),
                field="history",
            )
        for i, pair in enumerate(history):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise RowError(
                    "Each 'history' entry must be a [prompt, answer] pair.", field=f"history[{i}]"
                )
            messages += [
                ("user", text_of(pair[0], f"history[{i}][0]")),
                ("assistant", text_of(pair[1], f"history[{i}][1]")),
            ]
    has_input = bool(extra.strip())
    prompt = f"{instruction}\n{extra}" if has_input else instruction
    messages.append(("user", prompt))
    if output.strip():
        messages.append(("assistant", output))
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    extras(
        row, {"instruction", "input", "output", "system", "history", "instances", "id"}, candidate
    )
    if has_input:
        candidate.metadata[PROMPT_PARTS] = {"instruction": instruction, "input": extra}
    yield candidate


def read_sharegpt(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    key = "conversations" if "conversations" in row else "conversation"
    turns = require(row, key, hint="; is this a ShareGPT file?")
    messages = message_list(turns, key, "from", "value")
    if row.get("system") is not None and not any(r == "system" for r, _ in messages):
        messages.insert(0, ("system", text_of(row["system"], "system")))
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    extras(row, {key, "system", "id"}, candidate)
    yield candidate


def read_oasst(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    """One candidate per root-to-leaf path, or only the root prompt of each tree."""
    root = require(row, "prompt", hint="; is this an OpenAssistant tree file?")
    if not isinstance(root, dict):
        raise RowError(
            WRONG_TYPE.format(field="prompt", expected="a message object", kind=kind_of(root)),
            field="prompt",
        )
    tree_id = row.get("message_tree_id") or root.get("message_id")
    prompts_only = options.get("oasst_mode") == OASST_PROMPTS

    def message(node: Any, where: str) -> tuple[str, str]:
        if not isinstance(node, dict):
            raise RowError(
                WRONG_TYPE.format(field=where, expected="a message object", kind=kind_of(node)),
                field=where,
            )
        return role_of(node.get("role"), f"{where}.role"), text_of(
            node.get("text"), f"{where}.text"
        )

    def meta(path: list[dict[str, Any]]) -> dict[str, Any]:
        leaf = path[-1]
        return {
            "oasst": {
                "tree_id": tree_id,
                "message_ids": [n.get("message_id") for n in path],
                "lang": root.get("lang"),
                "synthetic": any(bool(n.get("synthetic")) for n in path),
                "rank": leaf.get("rank"),
            }
        }

    first = message(root, "prompt")
    if prompts_only:
        candidate = Candidate(
            [first], external_id=str(root.get("message_id") or tree_id or "") or None
        )
        candidate.metadata = meta([root])
        yield candidate
        return
    # Depth-first over the tree without recursion (trees can be deep).
    stack: list[tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str]], str]] = [
        (root, [root], [first], "prompt")
    ]
    while stack:
        node, path, messages, where = stack.pop()
        replies = node.get("replies") or []
        if not isinstance(replies, list):
            raise RowError(
                WRONG_TYPE.format(
                    field=f"{where}.replies", expected="a list", kind=kind_of(replies)
                ),
                field=f"{where}.replies",
            )
        live = [r for r in replies if not (isinstance(r, dict) and r.get("deleted"))]
        if not live:
            leaf_id = node.get("message_id")
            candidate = Candidate(messages, external_id=str(leaf_id) if leaf_id else None)
            candidate.metadata = meta(path)
            yield candidate
            continue
        for i, reply in reversed(list(enumerate(live))):
            reply_where = f"{where}.replies[{i}]"
            stack.append(
                (reply, [*path, reply], [*messages, message(reply, reply_where)], reply_where)
            )


LS_PROMPT_KEYS = ("prompt", "text", "question", "instruction", "input", "query")
LS_ANSWER_KEYS = ("response", "answer", "output", "completion", "reference")


def _ls_text(results: Any) -> str | None:
    if not isinstance(results, list):
        return None
    texts = []
    for result in results:
        if isinstance(result, dict) and result.get("type") == "textarea":
            value = result.get("value") or {}
            text = value.get("text") if isinstance(value, dict) else None
            if isinstance(text, list):
                texts += [t for t in text if isinstance(t, str)]
            elif isinstance(text, str):
                texts.append(text)
    return "\n".join(texts) if texts else None


def _ls_answer(row: dict[str, Any], data: dict[str, Any]) -> str | None:
    """The task's answer: its latest annotation, else a prediction, else a data field."""
    annotations = [
        a
        for a in row.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    for annotation in reversed(annotations):  # the latest annotation wins
        answer = _ls_text(annotation.get("result"))
        if answer is not None:
            return answer
    for prediction in row.get("predictions") or []:
        if isinstance(prediction, dict):
            answer = _ls_text(prediction.get("result"))
            if answer is not None:
                return answer
    key = next((k for k in LS_ANSWER_KEYS if isinstance(data.get(k), str)), None)
    return data[key] if key else None


def read_label_studio(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    data = require(row, "data", hint="; is this a Label Studio export?")
    if not isinstance(data, dict):
        raise RowError(
            WRONG_TYPE.format(field="data", expected="an object", kind=kind_of(data)), field="data"
        )
    if "messages" in data:
        messages = message_list(data["messages"], "data.messages", "role", "content")
    elif "dialogue" in data:
        messages = message_list(data["dialogue"], "data.dialogue", "author", "text")
    else:
        key = next((k for k in LS_PROMPT_KEYS if k in data), None)
        if key is None:
            raise RowError(
                f"The task's data has no prompt: expected one of {', '.join(LS_PROMPT_KEYS)}.",
                field="data",
            )
        messages = [("user", text_of(data[key], f"data.{key}"))]
    answer = _ls_answer(row, data)
    if answer is not None and messages[-1][0] != "assistant":
        messages.append(("assistant", answer))
    candidate = Candidate(messages)
    common_fields(data, candidate, id_keys=())
    if candidate.external_id is None and row.get("id") is not None:
        candidate.external_id = f"label-studio-{row['id']}"
    extras(data, {*LS_PROMPT_KEYS, *LS_ANSWER_KEYS, "messages", "dialogue"}, candidate)
    yield candidate


# --- CSV / TSV --------------------------------------------------------------------------

CSV_ROLES = (
    "prompt",
    "input",
    "response",
    "system",
    "external_id",
    "tags",
    "priority",
    "source",
    "licence",
)
CSV_GUESSES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "instruction", "question", "query", "text", "user"),
    "input": ("input", "context"),
    "response": (
        "response",
        "completion",
        "output",
        "answer",
        "assistant",
        "reference",
        "model_draft",
        "draft",
    ),
    "system": ("system", "system_prompt"),
    "external_id": ("external_id", "id"),
    "tags": ("tags", "tag"),
    "priority": ("priority",),
    "source": ("source",),
    "licence": ("licence", "license"),
}
CSV_NO_PROMPT = "Choose which column holds the prompt (columns found: {columns})."
CSV_NO_COLUMN = "The mapping names a column {column!r} that the file does not have."


def guess_columns(header: list[str]) -> dict[str, str]:
    """The obvious column for each role, by name."""
    lower = {h.lower(): h for h in header}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for role in CSV_ROLES:
        for name in CSV_GUESSES[role]:
            column = lower.get(name)
            if column and column not in used:
                mapping[role] = column
                used.add(column)
                break
    if "input" in mapping and "prompt" not in mapping:
        mapping["prompt"] = mapping.pop("input")
    return mapping


def read_csv_row(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    mapping: dict[str, str] = options["columns"]

    def cell(role: str) -> str:
        column = mapping.get(role)
        return (row.get(column) or "") if column else ""

    prompt = cell("prompt")
    extra = cell("input")
    messages: list[tuple[str, str]] = []
    if cell("system").strip():
        messages.append(("system", cell("system")))
    has_input = bool(extra.strip())
    messages.append(("user", f"{prompt}\n{extra}" if has_input else prompt))
    if cell("response").strip():
        messages.append(("assistant", cell("response")))
    fields = {role: cell(role) for role in ("external_id", "tags", "priority", "source", "licence")}
    candidate = Candidate(messages)
    try:
        common_fields(fields, candidate, id_keys=())
    except RowError as exc:
        column = mapping.get(exc.field, exc.field)
        raise RowError(exc.message.replace(repr(exc.field), repr(column)), field=column) from None
    mapped = set(mapping.values())
    extra_cells = {k: v for k, v in row.items() if k not in mapped and k and v not in (None, "")}
    if extra_cells:
        candidate.metadata.setdefault("fields", {}).update(extra_cells)
    if has_input:
        candidate.metadata[PROMPT_PARTS] = {"instruction": prompt, "input": extra}
    yield candidate


READERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Iterator[Candidate]]] = {
    OPENAI_CHAT: read_openai_chat,
    PROMPT_COMPLETION: read_prompt_completion,
    ALPACA: read_alpaca,
    SHAREGPT: read_sharegpt,
    OASST: read_oasst,
    LABEL_STUDIO: read_label_studio,
    CSV: read_csv_row,
}


def guess_format(row: dict[str, Any]) -> str | None:
    """The JSON format a first row looks like, or None."""
    if "messages" in row:
        return OPENAI_CHAT
    if "conversations" in row or "conversation" in row:
        return SHAREGPT
    if isinstance(row.get("prompt"), dict) and (
        "message_tree_id" in row or "replies" in row["prompt"]
    ):
        return OASST
    if "instruction" in row:
        return ALPACA
    if "data" in row and isinstance(row["data"], dict):
        return LABEL_STUDIO
    if "prompt" in row:
        return PROMPT_COMPLETION
    return None


def describe_keys(row: dict[str, Any]) -> str:
    keys = ", ".join(list(row)[:8])
    return json.dumps(keys)[1:-1] if keys else "none"
