"""Toxic or banned terms, from the curated list shipped in ``data/banned_terms.txt``
plus each project's own terms."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks.registry.base import CheckContext, Messages, Verdict, response_text

TERMS_FILE = Path(__file__).with_name("data") / "banned_terms.txt"
LEET = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"}
)


@lru_cache(maxsize=1)
def builtin_terms() -> tuple[str, ...]:
    lines = TERMS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=256)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = sorted(
        {re.escape(t).replace(r"\ ", r"\s+") for t in terms}, key=len, reverse=True
    )
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


def term_list(*, use_builtin: bool, extra: Iterable[str], allow: Iterable[str]) -> tuple[str, ...]:
    allowed = {a.strip().lower() for a in allow if a.strip()}
    base = builtin_terms() if use_builtin else ()
    terms = {t for t in (*base, *(e.strip().lower() for e in extra)) if t and t not in allowed}
    return tuple(sorted(terms))


_TOKEN = re.compile(r"[\w@$!]+")


@lru_cache(maxsize=256)
def _split(terms: tuple[str, ...]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """Single words are looked up in a set (one pass over the text); phrases by regex."""
    words = frozenset(t for t in terms if re.fullmatch(r"\w+", t))
    return words, _pattern(tuple(t for t in terms if t not in words))


@lru_cache(maxsize=256)
def _first_words(terms: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t.split()[0] for t in terms if " " in t)


def find_terms(text: str, terms: tuple[str, ...]) -> list[dict[str, Any]]:
    words, phrases = _split(terms)
    found: list[dict[str, Any]] = []
    lowered = text.lower()
    # Fast path: set intersection over the text's words; spans only when something hit.
    tokens = set(_TOKEN.findall(lowered))
    leety = [t for t in tokens if not t.isalpha()]  # digits or symbols: "sh1t", "idiot!"
    hit = not words.isdisjoint(tokens) or any(t.translate(LEET).strip("!") in words for t in leety)
    for m in _TOKEN.finditer(text) if hit else ():
        token = m.group(0).lower()
        if token in words or (not token.isalpha() and token.translate(LEET).strip("!") in words):
            found.append({"start": m.start(), "end": m.end(), "text": m.group(0)})
    if phrases is not None and (leety or not _first_words(terms).isdisjoint(tokens)):
        translated = lowered.translate(LEET)
        for source in (lowered, translated) if translated != lowered else (lowered,):
            for m in phrases.finditer(source):
                if all(f["start"] != m.start() for f in found):
                    found.append(
                        {"start": m.start(), "end": m.end(), "text": text[m.start() : m.end()]}
                    )
    return sorted(found, key=lambda f: f["start"])


def check_toxicity(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
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
