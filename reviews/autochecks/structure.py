"""Format and roles, and length bounds in characters and tokens."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from reviews.autochecks.base import CheckContext, Messages, Verdict, contents

ROLES = ("system", "user", "assistant")


def check_format(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """Roles alternate user/assistant, no turn is empty, a system message only comes first,
    and the conversation ends with the assistant."""
    if not isinstance(messages, list) or not messages:
        return Verdict.problem("The conversation has no messages.")
    problems: list[str] = []
    turns: list[int] = []
    previous = None
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            problems.append(f"Message {index} is not a message object.")
            continue
        role = message.get("role")
        content = message.get("content")
        if role not in ROLES:
            problems.append(f"Message {index} has an unknown role {role!r}.")
            continue
        if not isinstance(content, str) or not content.strip():
            problems.append(f"Message {index} ({role}) is empty.")
            turns.append(index)
        if role == "system":
            if index != 1:
                problems.append(f"Message {index} is a system message; only the first may be.")
        elif previous == role:
            problems.append(
                f"Messages {index - 1} and {index} are both {role}: roles must alternate."
            )
        elif previous in (None, "system") and role != "user":
            problems.append("The conversation must start with the user (after any system message).")
        previous = role
    if previous != "assistant":
        problems.append("The conversation must end with an assistant answer.")
    if problems:
        return Verdict.problem(" ".join(problems[:3]), problems=problems, empty_turns=turns)
    return Verdict.ok("Roles alternate and every turn has text.")


@lru_cache(maxsize=4)
def encoding(name: str) -> Any:
    """A tiktoken-compatible encoding shipped inside the package (no download)."""
    import bpe_openai

    return bpe_openai.get_encoding(name)


def count_tokens(text: str, encoding_name: str = "cl100k_base") -> int:
    return len(encoding(encoding_name).encode_ordinary(text))


def check_length(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The answer's length in characters and in tokens is within the project's bounds."""
    answers = contents(messages, "assistant")
    text = "\n\n".join(answers)
    chars = len(text.strip())
    problems: list[str] = []
    min_chars, max_chars = int(options["min_chars"]), int(options["max_chars"])
    if chars < min_chars:
        problems.append(f"The answer is {chars} characters long; the minimum is {min_chars}.")
    if max_chars and chars > max_chars:
        problems.append(f"The answer is {chars} characters long; the maximum is {max_chars}.")
    tokens = None
    max_tokens = int(options["max_tokens"])
    min_tokens = int(options["min_tokens"])
    if max_tokens or min_tokens:
        # Count the whole conversation: that is what the trainer's context must hold.
        tokens = sum(count_tokens(c, options["encoding"]) for c in contents(messages))
        if max_tokens and tokens > max_tokens:
            problems.append(
                f"The conversation is {tokens} tokens ({options['encoding']}); the maximum is {max_tokens}."
            )
        answer_tokens = count_tokens(text, options["encoding"])
        if answer_tokens < min_tokens:
            problems.append(f"The answer is {answer_tokens} tokens; the minimum is {min_tokens}.")
    details = {"chars": chars, "tokens": tokens}
    if problems:
        return Verdict.problem(" ".join(problems), **details)
    return Verdict.ok(f"{chars} characters, {tokens} tokens.", **details)
