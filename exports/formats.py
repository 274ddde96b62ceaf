"""One writer per export format: an exported item in, the JSON lines it becomes out.

Every writer is a pure function of the record and the options, so the same data and
options always give the same bytes. The chat formats keep OpenAI's ``user``/``assistant``
roles (TRL silently trains on nothing with ``human``/``gpt``); ShareGPT uses
``human``/``gpt``/``system`` as that format requires, so TRL users take ``openai-chat``
(:data:`SHAREGPT_TRL_NOTE`, shown on the Export page and in the dataset card).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from annotation import messages

OPENAI_CHAT = "openai-chat"
PROMPT_COMPLETION = "prompt-completion"
ALPACA = "alpaca"
SHAREGPT = "sharegpt"
PREFERENCE = "preference"
FORMATS = (OPENAI_CHAT, PROMPT_COMPLETION, ALPACA, SHAREGPT, PREFERENCE)
FORMAT_LABELS = {
    OPENAI_CHAT: "OpenAI chat (messages)",
    PROMPT_COMPLETION: "Prompt / completion (plain text)",
    ALPACA: "Alpaca (instruction, input, output)",
    SHAREGPT: "ShareGPT (conversations, human/gpt)",
    PREFERENCE: "Preference pairs (prompt, chosen, rejected)",
}
SHAREGPT_TRL_NOTE = (
    "TRL's converter keeps the human/gpt roles, so TRL trains on nothing useful from a "
    "ShareGPT file: TRL users take openai-chat."
)
# Who reads each format (the page's format help; product.md's table in brief).
FORMAT_HELP = {
    OPENAI_CHAT: "OpenAI fine-tuning, TRL, Axolotl chat_template.",
    PROMPT_COMPLETION: "OpenAI legacy fine-tuning, TRL prompt-completion.",
    ALPACA: "Axolotl, LLaMA-Factory.",
    SHAREGPT: "Axolotl, LLaMA-Factory, FastChat. " + SHAREGPT_TRL_NOTE,
    PREFERENCE: "TRL DPO: corrected model drafts (rejected) against the corrections (chosen), "
    "and overlap answers the reviewer did not pick.",
}
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}

Message = dict[str, str]


@dataclass(slots=True)
class Record:
    """One exported item: its current (approved) revision and what describes it."""

    item_id: int
    revision_id: int
    messages: list[Message]
    external_id: str | None = None
    model_draft: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    # Answers the reviewer did not pick when several annotators answered (overlap).
    not_picked: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderOptions:
    system_prompt: str = ""
    template: str = "{prompt}"
    completion_prefix: str = ""
    separator: str = ""
    stop: str = ""


_LS, _PS = "\u2028".encode(), "\u2029".encode()


def dumps(row: dict[str, Any]) -> bytes:
    """One JSONL line (without its ``\\n``): compact UTF-8 JSON, keys in the writer's order.
    Pass what is written through :func:`escape_line_separators`."""
    try:
        return orjson.dumps(row)
    except TypeError:  # a lone surrogate, which UTF-8 cannot hold: written as an escape
        return json.dumps(row, separators=(",", ":")).encode()


def escape_line_separators(data: bytes) -> bytes:
    """U+2028 and U+2029 as JSON escapes: they are valid inside JSON strings, but many line
    readers (Python's ``str.splitlines`` among them) treat them as line ends. One pass over
    a block of lines is much cheaper than one per line."""
    if _LS in data or _PS in data:
        data = data.replace(_LS, b"\\u2028").replace(_PS, b"\\u2029")
    return data


def conversation(record: Record, options: RenderOptions) -> list[Message]:
    """The record's messages in canonical form, with the export's system prompt added in
    front when the conversation has none of its own."""
    messages = [{"role": m["role"], "content": m["content"]} for m in record.messages]
    if options.system_prompt and not (messages and messages[0]["role"] == "system"):
        messages.insert(0, {"role": "system", "content": options.system_prompt})
    return messages


def split_answer(messages: list[Message]) -> tuple[list[Message], str]:
    """(everything before the final answer, the final assistant answer)."""
    if not messages or messages[-1]["role"] != "assistant":
        return messages, ""
    return messages[:-1], messages[-1]["content"]


def metadata(record: Record) -> dict[str, Any]:
    """What goes under ``metadata`` when the export includes it: ids, tags, and the
    item's own metadata (source, licence, …)."""
    return {
        "external_id": record.external_id,
        "item_id": record.item_id,
        "revision_id": record.revision_id,
        "tags": list(record.tags),
        **{k: v for k, v in record.metadata.items() if k not in ("external_id", "tags")},
    }


def openai_chat(record: Record, options: RenderOptions) -> list[dict[str, Any]]:
    return [{"messages": conversation(record, options)}]


def _transcript(messages: list[Message]) -> str:
    """The prompt side as plain text: a lone user turn as it is, anything longer as a
    labelled transcript."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return messages[0]["content"]
    labels = {"system": "System", "user": "User", "assistant": "Assistant"}
    return "\n\n".join(f"{labels.get(m['role'], m['role'])}: {m['content']}" for m in messages)


def prompt_completion(record: Record, options: RenderOptions) -> list[dict[str, Any]]:
    context, answer = split_answer(conversation(record, options))
    prompt = options.template.replace("{prompt}", _transcript(context)) + options.separator
    completion = options.completion_prefix + answer + options.stop
    return [{"prompt": prompt, "completion": completion}]


def instruction_and_input(record: Record, instruction: str) -> tuple[str, str]:
    """The instruction and input apart again, as an Alpaca or Self-Instruct file had them
    (the importer keeps them in the item's metadata), while the prompt still reads as it
    was imported; an edited prompt is exported whole as the instruction."""
    parts = record.metadata.get("prompt_parts") if record.metadata else None
    if not isinstance(parts, dict):
        return instruction, ""
    first, extra = str(parts.get("instruction", "")), str(parts.get("input", ""))
    if messages.normalize_text(f"{first}\n{extra}") != instruction:
        return instruction, ""
    return messages.normalize_text(first), messages.normalize_text(extra)


def alpaca(record: Record, options: RenderOptions) -> list[dict[str, Any]]:
    """Alpaca as Axolotl and LLaMA-Factory read it: the last user turn is the instruction;
    earlier user/assistant pairs go to ``history`` and a system message to ``system``
    (LLaMA-Factory's extra keys), each only when the item has one."""
    context, answer = split_answer(conversation(record, options))
    system = "\n\n".join(m["content"] for m in context if m["role"] == "system")
    turns = [m for m in context if m["role"] != "system"]
    instruction = turns[-1]["content"] if turns and turns[-1]["role"] == "user" else ""
    earlier = turns[:-1] if instruction else turns
    history: list[list[str]] = []
    pending: list[str] = []
    for message in earlier:
        if message["role"] == "user":
            pending.append(message["content"])
        else:
            history.append(["\n\n".join(pending), message["content"]])
            pending = []
    if pending:
        instruction = "\n\n".join([*pending, instruction])
    row: dict[str, Any] = {"instruction": instruction, "input": "", "output": answer}
    if not history:
        row["instruction"], row["input"] = instruction_and_input(record, instruction)
    # Only when there is one: most readers expect the three classic keys, and LLaMA-Factory
    # reads these two when present.
    if system:
        row["system"] = system
    if history:
        row["history"] = history
    return [row]


def sharegpt(record: Record, options: RenderOptions) -> list[dict[str, Any]]:
    turns = [
        {"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]}
        for m in conversation(record, options)
    ]
    return [{"conversations": turns}]


def preference(record: Record, options: RenderOptions) -> list[dict[str, Any]]:
    """TRL's conversational preference pairs: the approved answer is ``chosen``; the
    model draft it corrected (unless left unchanged) and the answers the reviewer did
    not pick are each a ``rejected``."""
    context, answer = split_answer(conversation(record, options))
    rejected = []
    draft = record.model_draft
    if draft.strip() and draft.strip() != answer.strip():
        rejected.append(draft)
    rejected.extend(a for a in record.not_picked if a.strip() and a.strip() != answer.strip())
    return [
        {
            "prompt": context,
            "chosen": [{"role": "assistant", "content": answer}],
            "rejected": [{"role": "assistant", "content": other}],
        }
        for other in rejected
    ]


WRITERS: dict[str, Callable[[Record, RenderOptions], list[dict[str, Any]]]] = {
    OPENAI_CHAT: openai_chat,
    PROMPT_COMPLETION: prompt_completion,
    ALPACA: alpaca,
    SHAREGPT: sharegpt,
    PREFERENCE: preference,
}


def lengths(record: Record) -> tuple[int, int]:
    """Characters of the prompt side (every message before the answer) and the answer."""
    messages = record.messages
    if not messages or messages[-1]["role"] != "assistant":
        return sum(len(m["content"]) for m in messages), 0
    return sum(len(m["content"]) for m in messages[:-1]), len(messages[-1]["content"])


def answer_text(record: Record) -> str:
    return messages.answer_text(record.messages)
