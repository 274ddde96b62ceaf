"""Placeholder or unfinished text, and refusal / "as an AI language model" boilerplate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from checks.registry.base import (
    CheckContext,
    Messages,
    Verdict,
    excerpt,
    last_response,
    response_text,
)

PLACEHOLDERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("todo", re.compile(r"\b(?:TODO|TBD|FIXME|XXX+)\b")),
    ("lorem ipsum", re.compile(r"\blorem\s+ipsum\b", re.IGNORECASE)),
    ("template variable", re.compile(r"\{\{\s*[^{}\n]{1,60}?\s*\}\}|\$\{[A-Za-z_][\w.]*\}")),
    (
        "bracketed placeholder",
        re.compile(
            r"[\[<(]\s*(?:insert|add|your|put|enter|fill in|placeholder|name of|link to|todo)\b[^\]>)\n]{0,80}[\]>)]",
            re.IGNORECASE,
        ),
    ),
    ("placeholder word", re.compile(r"\bPLACEHOLDER\b|\bREPLACE[_ ]ME\b", re.IGNORECASE)),
)

# An answer cut off mid-sentence tends to end on one of these words.
DANGLING_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "to",
        "of",
        "for",
        "with",
        "in",
        "on",
        "at",
        "by",
        "from",
        "that",
        "which",
        "who",
        "whose",
        "because",
        "is",
        "are",
        "was",
        "were",
        "be",
        "as",
        "if",
        "than",
        "then",
        "so",
        "such",
        "this",
        "these",
        "those",
        "my",
        "your",
        "our",
        "their",
        "its",
    ]
)
DANGLING_CHARS = ",;:(-\u2013\u2014/&+=\\"  # includes en and em dashes


# A finished statement of code ends in ";": a call, an assignment, a keyword statement,
# or a single token (``i++;``, ``break;``). Prose ending in ";" has none.
CODE_STATEMENT = re.compile(
    r"""
    (?:^|[\s(])[\w$.\[\]]+\s*(?:[-+*/%|&^.]?=|<<|>>)  # assignment, stream: x = 1, cout << x
    | [\w$\]](?:\+\+|--)|(?:\+\+|--)[\w$]              # increment: i++, --n
    | [\w$\]]\(.*\)                                    # a call: name(…)
    | [A-Za-z_$][\w$]+(?:\.|->|::)[A-Za-z_$][\w$]+       # member: console.log, a->b, std::x
    | [{}\[\]]                                         # braces and brackets
    | ^(?-i:var|let|const|return|import|export|using|package|echo|print|printf|puts|throw
          |delete|int|float|double|char|bool|void|public|private|protected|static
          |select|insert|update|create|drop|alter|declare|grant
          |SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|DECLARE|GRANT|SET|WITH)\b  # a keyword
    | ^\S+;$                                           # a single token: break;
    """,
    re.VERBOSE,
)


def code_like(line: str) -> bool:
    """Whether ``line`` (stripped) reads as a finished statement of code."""
    return line.endswith(";") and CODE_STATEMENT.search(line) is not None


def truncation(text: str) -> str | None:
    """Why ``text`` looks cut off, or None. A closed code block, a table, a heading,
    an indented line and a finished statement of code are not cut off."""
    stripped = text.rstrip()
    if not stripped:
        return None
    if stripped.count("```") % 2:
        return "a code block is never closed"
    raw_last = stripped.splitlines()[-1]
    last_line = raw_last.strip()
    if raw_last.startswith(("    ", "\t")) or last_line.startswith(("```", "~~~", "|", "#")):
        return None
    if code_like(last_line):
        return None
    if stripped[-1] in DANGLING_CHARS:
        return f"it ends with {stripped[-1]!r}"
    words = re.findall(r"[A-Za-z']+", last_line[-40:])
    if (
        words
        and last_line[-1].isalpha()
        and words[-1].lower() in DANGLING_WORDS
        and len(last_line.split()) > 1
    ):
        return f"it ends on {words[-1]!r}"
    return None


def check_placeholder(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """No TODO, lorem ipsum, {{name}}, [insert …] left in, and the answer is not cut off."""
    text = response_text(messages)
    spans: list[dict[str, Any]] = []
    for kind, pattern in PLACEHOLDERS:
        for match in pattern.finditer(text):
            spans.append(
                {"kind": kind, "start": match.start(), "end": match.end(), "text": match.group(0)}
            )
    extra = [w for w in options.get("extra_markers") or [] if str(w).strip()]
    lowered = text.lower()
    for marker in extra:
        at = lowered.find(str(marker).lower())
        if at >= 0:
            spans.append(
                {
                    "kind": "marker",
                    "start": at,
                    "end": at + len(marker),
                    "text": text[at : at + len(marker)],
                }
            )
    cut = truncation(last_response(messages)) if options.get("detect_truncation", True) else None
    if spans:
        spans.sort(key=lambda s: s["start"])
        first = spans[0]
        message = f"Placeholder text left in the answer: “{excerpt(text, first['start'], first['end'], width=20)}”."
        if len(spans) > 1:
            message += f" ({len(spans)} places.)"
        return Verdict.problem(message, spans=spans, truncated=cut)
    if cut:
        return Verdict.problem(f"The answer looks unfinished: {cut}.", spans=[], truncated=cut)
    return Verdict.ok("No placeholders, and the answer is finished.")


REFUSALS = re.compile(
    r"\bas an? (?:ai|artificial intelligence)(?: language)?(?: model| assistant)?\b"
    r"|\bas a (?:large )?language model\b"
    r"|\bI(?:'m| am) (?:just )?an? (?:ai|artificial intelligence)(?: language model)?,? (?:and|so|therefore|I)\b"
    r"|\bI (?:cannot|can't|can not|am unable to|am not able to|won't) (?:help|assist|provide|comply|fulfil+|do that|answer)\b(?! but| feeling| thinking| wondering)"
    r"|\bI(?:'m| am) (?:sorry|afraid),? but I (?:cannot|can't|am unable|won't)\b"
    r"|\bI do(?: not|n't) have (?:personal )?(?:opinions|feelings|emotions|access to real[- ]time)\b"
    r"|\b(?:my|the) knowledge cut-?off\b"
    r"|\bOpenAI\b.{0,40}\b(?:policy|policies|guidelines)\b",
    re.IGNORECASE,
)


def check_refusal(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """No refusal and no "as an AI language model" boilerplate in the answer."""
    text = response_text(messages)
    found = [
        {"start": m.start(), "end": m.end(), "text": m.group(0)} for m in REFUSALS.finditer(text)
    ]
    for phrase in options.get("extra_phrases") or []:
        at = text.lower().find(str(phrase).lower())
        if str(phrase).strip() and at >= 0:
            found.append(
                {"start": at, "end": at + len(phrase), "text": text[at : at + len(phrase)]}
            )
    if found:
        first = found[0]
        return Verdict.problem(
            f"The answer contains refusal or AI boilerplate: “{first['text']}”.", spans=found
        )
    return Verdict.ok("No refusal or AI boilerplate.")
