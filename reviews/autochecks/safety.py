"""Toxic or banned terms, from the curated list shipped in ``data/banned_terms.txt``
plus each project's own terms."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from reviews.autochecks.base import CheckContext, Messages, Verdict, response_text

TERMS_FILE = Path(__file__).with_name("data") / "banned_terms.txt"
LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})


def builtin_terms() -> tuple[str, ...]:
    lines = TERMS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=256)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = sorted({re.escape(t).replace(r"\ ", r"\s+") for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


def term_list(*, use_builtin: bool, extra: Iterable[str], allow: Iterable[str]) -> tuple[str, ...]:
    allowed = {a.strip().lower() for a in allow if a.strip()}
    base = builtin_terms() if use_builtin else ()
    terms = {t for t in (*base, *(e.strip().lower() for e in extra)) if t and t not in allowed}
    return tuple(sorted(terms))


def find_terms(text: str, terms: tuple[str, ...]) -> list[dict[str, Any]]:
    pattern = _pattern(terms)
    if pattern is None:
        return []
    found = [{"start": m.start(), "end": m.end(), "text": m.group(0)} for m in pattern.finditer(text)]
    translated = text.translate(LEET)
    if translated != text:  # "sh1t": digits and symbols standing in for letters
        seen = {f["start"] for f in found}
        found += [
            {"start": m.start(), "end": m.end(), "text": text[m.start() : m.end()]}
            for m in pattern.finditer(translated)
            if m.start() not in seen
        ]
    return sorted(found, key=lambda f: f["start"])


def check_toxicity(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """No toxic, abusive or banned terms in the answer."""
    terms = term_list(
        use_builtin=bool(options.get("builtin_list", True)),
        extra=options.get("extra_terms") or [],
        allow=options.get("allowed_terms") or [],
    )
    found = find_terms(response_text(messages), terms)
    if found:
        words = sorted({f["text"].lower() for f in found})
        return Verdict.problem(
            f"The answer contains banned or abusive terms: {', '.join(words[:5])}.", spans=found
        )
    return Verdict.ok("No banned or abusive terms.")
