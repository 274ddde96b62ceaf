"""The answer is written in the project's language (lingua, whose models ship inside the
package: no download)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from checks.registry.base import CheckContext, Messages, Verdict, last_response

CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`|https?://\S+", re.DOTALL)
# Below this many characters of running text the small models guess; lingua's own
# guidance is that low-accuracy mode is reliable from about 120 characters.
MIN_CHARS = 120
WORDS = re.compile(r"[^\W\d_]{2,}")


# Languages a project's answers are commonly written in. Restricting the detector to
# living languages with many speakers avoids absurd verdicts (Latin, Sotho) on short
# English sentences; the project's own language is always added.
COMMON = [
    "ENGLISH",
    "FRENCH",
    "GERMAN",
    "SPANISH",
    "ITALIAN",
    "PORTUGUESE",
    "DUTCH",
    "SWEDISH",
    "DANISH",
    "BOKMAL",
    "FINNISH",
    "POLISH",
    "CZECH",
    "ROMANIAN",
    "HUNGARIAN",
    "GREEK",
    "TURKISH",
    "RUSSIAN",
    "UKRAINIAN",
    "BULGARIAN",
    "ARABIC",
    "HEBREW",
    "PERSIAN",
    "HINDI",
    "BENGALI",
    "URDU",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "VIETNAMESE",
    "THAI",
    "INDONESIAN",
    "MALAY",
    "TAGALOG",
]


@lru_cache(maxsize=8)
def detector(extra: str = "") -> Any:
    """One detector per process (and per extra language). Low-accuracy mode uses the small
    trigram models only: about a tenth of a millisecond per answer, bounded memory."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder  # large: load on first use

    languages = {getattr(Language, name) for name in COMMON}
    if extra:
        with contextlib.suppress(AttributeError, ValueError):
            languages.add(Language.from_iso_code_639_1(getattr(IsoCode639_1, extra.upper())))
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def iso_code(language: Any) -> str:
    return str(language.iso_code_639_1.name).lower()


def detect(text: str, expected: str = "en") -> tuple[str | None, float, float]:
    """The most likely ISO 639-1 code of ``text``, the detector's confidence in it, and its
    confidence in ``expected``."""
    values = detector(expected).compute_language_confidence_values(text)
    if not values:
        return None, 0.0, 0.0
    best = values[0]
    mine = next((float(v.value) for v in values if iso_code(v.language) == expected), 0.0)
    return iso_code(best.language), float(best.value), mine


def language_name(code: str) -> str:
    from lingua import IsoCode639_1, Language  # large: load on first use

    try:
        return str(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())).name).title()
    except (AttributeError, ValueError):
        return code


def check_language(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """The answer is in the project's language."""
    expected = str(options.get("language") or context.language or "en").lower()
    lines = [ln for ln in CODE.sub(" ", last_response(messages)).splitlines() if _prose(ln)]
    text = "\n".join(lines)
    if len(text.strip()) < MIN_CHARS or len(WORDS.findall(text)) < 8:
        return Verdict.ok("The answer is too short to tell its language.", detected=None)
    code, confidence, mine = detect(text, expected)
    if code is None or code == expected:
        return Verdict.ok(f"The answer is in {language_name(expected)}.", detected=code)
    if not _running_words_agree(text, expected, code):
        return Verdict.ok(
            f"The answer is mostly names; the rest reads as {language_name(expected)}.",
            detected=code,
        )
    if confidence < float(options["min_confidence"]) or mine > 1 - float(options["min_confidence"]):
        return Verdict.ok(
            f"The answer may not be in {language_name(expected)}, but the detector is unsure.",
            detected=code,
            confidence=round(confidence, 2),
        )
    return Verdict.problem(
        f"The answer seems to be in {language_name(code)}, not {language_name(expected)}.",
        detected=code,
        expected=expected,
        confidence=round(confidence, 2),
    )


def _running_words_agree(text: str, expected: str, code: str) -> bool:
    """Whether the words that are not names (not capitalized) say ``code`` too. A list of
    Italian dishes in an English answer is English; a French answer is French without
    its capitalized words too."""
    words = [w for w in WORDS.findall(text) if not w[0].isupper()]
    if len(words) < 8 or sum(map(len, words)) < MIN_CHARS // 2:
        return False
    again, _, _ = detect(" ".join(words), expected)
    return again == code


def _prose(line: str) -> bool:
    """A line of running text, not a formula, a board position or a table row."""
    letters = sum(c.isalpha() for c in line)
    return letters >= 0.6 * len(line.strip()) and " " in line.strip()
