"""Format and roles, and length bounds in characters and tokens."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from annotation.messages import problems
from checks.registry.base import CheckContext, Messages, Verdict, contents


def check_format(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The chat format as the annotator's submit enforces it (annotation.messages): roles
    alternate user/assistant, no turn is empty, a system message only comes first, and
    the conversation ends with the assistant."""
    found = problems(messages, complete=True)
    if found:
        return Verdict.problem(
            " ".join(p.text for p in found[:3]),
            problems=[p.text for p in found],
            empty_turns=[p.turn for p in found if p.empty],
        )
    return Verdict.ok("Roles alternate and every turn has text.")


@lru_cache(maxsize=4)
def encoding(name: str) -> Any:
    """A tiktoken-compatible encoding shipped inside the package (no download)."""
    import bpe_openai  # 94 MB of tables: loaded by the first check that counts tokens

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
