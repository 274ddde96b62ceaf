"""Automated checks: small pure functions over a revision, and their registry.

``REGISTRY`` maps a check's name to its :class:`~checks.registry.base.Check`: label,
version (bump it when the function's verdicts change, so stored results are redone),
default severity, options, and whether it needs configuration before it can run.
"""

from __future__ import annotations

from checks.registry.base import Check, CheckContext, Duplicate, Option, Verdict
from checks.registry.duplicates import (
    check_duplicate_answer,
    check_exact_duplicate,
    check_near_duplicate,
)
from checks.registry.language import check_language
from checks.registry.pii import check_pii
from checks.registry.rules import (
    check_forbidden_phrases,
    check_json,
    check_regex,
    check_required_prefix,
    check_rubber_stamp,
)
from checks.registry.safety import check_toxicity
from checks.registry.structure import check_format, check_length
from checks.registry.text import check_placeholder, check_refusal

__all__ = ["REGISTRY", "Check", "CheckContext", "Duplicate", "Option", "Verdict"]

BLOCK, WARN = "block", "warn"

CHECKS: tuple[Check, ...] = (
    Check(
        "format", 1, "Format and roles",
        "Roles alternate, no empty turn, a system message only first, ends with the assistant.",
        check_format, default_severity=BLOCK,
    ),
    Check(
        "length", 1, "Length",
        "The answer's length in characters and the conversation's length in tokens.",
        check_length, default_severity=WARN,
        options=(
            Option("min_chars", "int", 1, "Shortest answer, in characters.", minimum=0),
            Option("max_chars", "int", 20000, "Longest answer, in characters (0: no limit).", minimum=0),
            Option("min_tokens", "int", 0, "Shortest answer, in tokens.", minimum=0),
            Option("max_tokens", "int", 8192, "Longest conversation, in tokens (0: no limit).", minimum=0),
            Option("encoding", "choice", "cl100k_base", "Tokenizer.", choices=("cl100k_base", "o200k_base")),
        ),
    ),
    Check(
        "placeholder", 2, "Placeholder or unfinished text",
        "TODO, lorem ipsum, {{name}}, [insert …], or an answer cut off mid-sentence.",
        check_placeholder, default_severity=BLOCK,
        options=(
            Option("detect_truncation", "bool", True, "Also flag answers that stop mid-sentence."),
            Option("extra_markers", "list", [], "More markers of unfinished text."),
        ),
    ),
    Check(
        "exact_duplicate", 1, "Exact duplicate",
        "Another item of the project has the same prompt or the same conversation.",
        check_exact_duplicate, default_severity=WARN, cheap=False,
        options=(Option("same_prompt", "bool", True, "Also flag a prompt that is already in the project."),),
    ),
    Check(
        "near_duplicate", 1, "Near-duplicate",
        "Another item of the project is nearly the same text (MinHash over word 3-grams).",
        check_near_duplicate, default_severity=WARN, cheap=False,
        options=(
            Option("threshold", "float", 0.8, "Similarity (0 to 1) from which items count as near-duplicates.", minimum=0.3, maximum=1.0),
        ),
    ),
    Check(
        "duplicate_answer", 1, "Answer copied from another item",
        "Another item of the project has the same or nearly the same answer to a different prompt.",
        check_duplicate_answer, default_severity=WARN, cheap=False,
        options=(
            Option("min_chars", "int", 40, "Shorter answers (“Yes.”, “Thank you!”) are not compared.", minimum=1),
            Option("threshold", "float", 0.8, "Similarity (0 to 1) from which answers count as copies.", minimum=0.5, maximum=1.0),
        ),
    ),
    Check(
        "pii", 1, "Personal data and secrets",
        "Emails, phone numbers, card numbers (Luhn), IBANs, public IP addresses, API keys.",
        check_pii, default_severity=WARN,
        options=(
            Option("scope", "choice", "response", "Which messages to scan.", choices=("response", "all")),
            Option("region", "str", "US", "Default country for phone numbers without a +prefix."),
            Option("include_private_ips", "bool", False, "Also flag private and loopback IP addresses."),
        ),
    ),
    Check(
        "toxicity", 1, "Toxic or banned terms",
        "Abusive terms from the built-in list, plus the project's own.",
        check_toxicity, default_severity=WARN,
        options=(
            Option("builtin_list", "bool", True, "Use the built-in list of abusive terms."),
            Option("extra_terms", "list", [], "The project's own banned terms."),
            Option("allowed_terms", "list", [], "Built-in terms this project allows."),
        ),
    ),
    Check(
        "language", 1, "Language",
        "The answer is in the project's language.",
        check_language, default_severity=WARN,
        options=(
            Option("language", "str", "", "ISO 639-1 code; empty: the project's language."),
            Option("min_confidence", "float", 0.9, "How sure the detector must be before it complains.", minimum=0.0, maximum=1.0),
        ),
    ),
    Check(
        "refusal", 1, "Refusal or AI boilerplate",
        "“As an AI language model…”, “I cannot help with that”.",
        check_refusal, default_severity=WARN,
        options=(Option("extra_phrases", "list", [], "More boilerplate phrases."),),
    ),
    Check(
        "rubber_stamp", 1, "Unchanged model draft",
        "In a correct task, the answer differs from the model's draft by at least a minimal share.",
        check_rubber_stamp, default_severity=BLOCK, task_types=("correct",),
        options=(
            Option("min_edit_ratio", "float", 0.0, "Smallest share of the draft to change (0: any change).", minimum=0.0, maximum=1.0),
        ),
    ),
    Check(
        "required_prefix", 1, "Required prefix",
        "Every answer starts with a fixed text, e.g. “CloudSync Pro Support:”.",
        check_required_prefix, default_severity=BLOCK, needs_config=True,
        options=(Option("prefix", "str", "", "The text every answer starts with."),),
    ),
    Check(
        "forbidden_phrases", 1, "Forbidden phrases",
        "Phrases the answer must not contain.",
        check_forbidden_phrases, default_severity=BLOCK, needs_config=True,
        options=(Option("phrases", "list", [], "One phrase a line, matched without case."),),
    ),
    Check(
        "regex", 1, "Pattern",
        "The answer matches (or must not match) a regular expression.",
        check_regex, default_severity=WARN, needs_config=True,
        options=(
            Option("pattern", "str", "", "A Python regular expression."),
            Option("mode", "choice", "require", "Require a match, or forbid one.", choices=("require", "forbid")),
            Option("description", "str", "", "How to describe the rule to annotators."),
        ),
    ),
    Check(
        "json", 1, "JSON answer",
        "The answer is valid JSON (for projects that want JSON).",
        check_json, default_severity=BLOCK, needs_config=True,
        options=(
            Option("top_level", "choice", "any", "What the JSON must be.", choices=("any", "object", "array")),
            Option("allow_fence", "bool", True, "Accept JSON inside one ```json fence."),
        ),
    ),
)  # fmt: skip

REGISTRY: dict[str, Check] = {check.name: check for check in CHECKS}
