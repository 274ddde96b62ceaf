"""Every import format, read into one shape: a :class:`Candidate` conversation with its
optional per-row fields. Which format a file is in is guessed from its first row."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

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

ROLE_ALIASES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
}

# Metadata key of a prompt the file gave in two parts (Alpaca ``instruction`` and
# ``input``; a CSV's prompt and input columns). The user turn joins them for the
# annotator, ``normalize_text(f"{instruction}\n{input}")``; the parts, as the file has
# them, let an exporter write ``instruction`` and ``input`` apart again.
PROMPT_PARTS = "prompt_parts"

MISSING = "The row has no {field!r} field{hint}."
WRONG_TYPE = "{field!r} must be {expected}, not {kind}."
UNKNOWN_ROLE = "Unknown role {role!r}: use system, user or assistant."
ONLY_TEXT = "Only text content can be imported; this message has {kind} parts."


@dataclass
class Candidate:
    """One conversation as the file has it, before normalization."""

    messages: list[tuple[str, str]]
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    priority: int = 0


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="text", kind=kind_of(value)), field=name
        )
    return value


def _require(row: dict[str, Any], key: str, hint: str = "") -> Any:
    if key not in row:
        raise RowError(MISSING.format(field=key, hint=hint), field=key)
    return row[key]


def _role(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="text", kind=kind_of(value)), field=name
        )
    role = ROLE_ALIASES.get(value.strip().lower())
    if role is None:
        raise RowError(UNKNOWN_ROLE.format(role=value), field=name)
    return role


def _content(value: Any, name: str) -> str:
    if isinstance(value, list):  # OpenAI content parts
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else kind_of(part)
                raise RowError(ONLY_TEXT.format(kind=kind), field=name)
            texts.append(_text(part.get("text"), f"{name}.text"))
        return "".join(texts)
    return _text(value, name)


def _message_list(value: Any, name: str, role_key: str, content_key: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise RowError(
            WRONG_TYPE.format(field=name, expected="a list", kind=kind_of(value)), field=name
        )
    out = []
    for i, message in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(message, dict):
            raise RowError(
                WRONG_TYPE.format(field=where, expected="an object", kind=kind_of(message)),
                field=where,
            )
        if role_key not in message:
            raise RowError(MISSING.format(field=role_key, hint=f" in {where}"), field=where)
        if content_key not in message:
            raise RowError(MISSING.format(field=content_key, hint=f" in {where}"), field=where)
        role = _role(message[role_key], f"{where}.{role_key}")
        out.append((role, _content(message[content_key], f"{where}.{content_key}")))
    return out


# --- per-row fields every JSON format may carry ---------------------------------------

OWN_KEYS = {"external_id", "metadata", "tags", "priority", "source", "licence", "license"}


def common_fields(row: dict[str, Any], candidate: Candidate, *, id_keys: tuple[str, ...]) -> None:
    for key in ("external_id", *id_keys):
        value = row.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RowError(
                WRONG_TYPE.format(
                    field=key, expected="text or a whole number", kind=kind_of(value)
                ),
                field=key,
            )
        candidate.external_id = str(value).strip()[:255] or None
        break
    metadata = row.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise RowError(
                WRONG_TYPE.format(field="metadata", expected="an object", kind=kind_of(metadata)),
                field="metadata",
            )
        candidate.metadata.update(metadata)
    # Tags and priority are checked only in rows that carry them.
    tags = row.get("tags")
    if tags is not None:
        candidate.tags = _tags(tags)
    priority = row.get("priority")
    if priority is not None and priority != "":
        candidate.priority = _priority(priority)
    for key, target in (("source", "source"), ("licence", "licence"), ("license", "licence")):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            candidate.metadata[target] = value.strip()


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = [t for t in (s.strip() for s in tags.replace(";", ",").split(",")) if t]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RowError(
            WRONG_TYPE.format(field="tags", expected="a list of text", kind=kind_of(tags)),
            field="tags",
        )
    return [t.strip() for t in tags if t.strip()]


def _priority(priority: Any) -> int:
    if isinstance(priority, str) and priority.strip().lstrip("-").isdigit():
        priority = int(priority.strip())
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RowError(
            WRONG_TYPE.format(field="priority", expected="a whole number", kind=kind_of(priority)),
            field="priority",
        )
    if not -(2**31) <= priority < 2**31:
        raise RowError("'priority' is out of range.", field="priority")
    checked: int = priority
    return checked


def _extras(row: dict[str, Any], known: set[str], candidate: Candidate) -> None:
    """Keep the row's other simple fields (a name, a category) in metadata."""
    extra = {
        k: v
        for k, v in row.items()
        if k not in known and k not in OWN_KEYS and isinstance(v, str | int | float | bool)
    }
    if extra:
        candidate.metadata.setdefault("fields", {}).update(extra)


# --- the formats ------------------------------------------------------------------------


def read_openai_chat(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    messages = _require(row, "messages", hint="; is this an OpenAI chat file?")
    candidate = Candidate(_message_list(messages, "messages", "role", "content"))
    common_fields(row, candidate, id_keys=("id",))
    _extras(row, {"messages", "id", "weight"}, candidate)
    yield candidate


def _turns(value: Any, name: str) -> list[tuple[str, str]]:
    if isinstance(value, list):
        return _message_list(value, name, "role", "content")
    return [("user" if name == "prompt" else "assistant", _text(value, name))]


def read_prompt_completion(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    prompt = _require(row, "prompt", hint="; is this a prompt/completion file?")
    messages = _turns(prompt, "prompt")
    if row.get("system") is not None:
        messages.insert(0, ("system", _text(row["system"], "system")))
    for key in ("completion", "response"):
        if row.get(key) is not None:
            messages += _turns(row[key], key)
            break
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    _extras(row, {"prompt", "completion", "response", "system", "id"}, candidate)
    yield candidate


def read_alpaca(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    instruction = _text(
        _require(row, "instruction", hint="; is this an Alpaca file?"), "instruction"
    )
    source: dict[str, Any] = row
    instances = row.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        source = instances[0]  # Self-Instruct seed tasks: one instance per task
        where = "instances[0]."
    else:
        where = ""
    extra = _text(source.get("input"), f"{where}input", required=False)
    output = _text(source.get("output"), f"{where}output", required=False)
    messages: list[tuple[str, str]] = []
    if row.get("system") is not None:
        messages.append(("system", _text(row["system"], "system")))
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
                ("user", _text(pair[0], f"history[{i}][0]")),
                ("assistant", _text(pair[1], f"history[{i}][1]")),
            ]
    has_input = bool(extra.strip())
    prompt = f"{instruction}\n{extra}" if has_input else instruction
    messages.append(("user", prompt))
    if output.strip():
        messages.append(("assistant", output))
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    _extras(
        row, {"instruction", "input", "output", "system", "history", "instances", "id"}, candidate
    )
    if has_input:
        candidate.metadata[PROMPT_PARTS] = {"instruction": instruction, "input": extra}
    yield candidate


def read_sharegpt(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    key = "conversations" if "conversations" in row else "conversation"
    turns = _require(row, key, hint="; is this a ShareGPT file?")
    messages = _message_list(turns, key, "from", "value")
    if row.get("system") is not None and not any(r == "system" for r, _ in messages):
        messages.insert(0, ("system", _text(row["system"], "system")))
    candidate = Candidate(messages)
    common_fields(row, candidate, id_keys=("id",))
    _extras(row, {key, "system", "id"}, candidate)
    yield candidate


def read_oasst(row: dict[str, Any], options: dict[str, Any]) -> Iterator[Candidate]:
    """One candidate per root-to-leaf path, or only the root prompt of each tree."""
    root = _require(row, "prompt", hint="; is this an OpenAssistant tree file?")
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
        return _role(node.get("role"), f"{where}.role"), _text(node.get("text"), f"{where}.text")

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
    data = _require(row, "data", hint="; is this a Label Studio export?")
    if not isinstance(data, dict):
        raise RowError(
            WRONG_TYPE.format(field="data", expected="an object", kind=kind_of(data)), field="data"
        )
    if "messages" in data:
        messages = _message_list(data["messages"], "data.messages", "role", "content")
    elif "dialogue" in data:
        messages = _message_list(data["dialogue"], "data.dialogue", "author", "text")
    else:
        key = next((k for k in LS_PROMPT_KEYS if k in data), None)
        if key is None:
            raise RowError(
                f"The task's data has no prompt: expected one of {', '.join(LS_PROMPT_KEYS)}.",
                field="data",
            )
        messages = [("user", _text(data[key], f"data.{key}"))]
    answer = _ls_answer(row, data)
    if answer is not None and messages[-1][0] != "assistant":
        messages.append(("assistant", answer))
    candidate = Candidate(messages)
    common_fields(data, candidate, id_keys=())
    if candidate.external_id is None and row.get("id") is not None:
        candidate.external_id = f"label-studio-{row['id']}"
    _extras(data, {*LS_PROMPT_KEYS, *LS_ANSWER_KEYS, "messages", "dialogue"}, candidate)
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
