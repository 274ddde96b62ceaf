"""The answer is written in the project's language (lingua, whose models ship inside the
package: no download)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from reviews.autochecks.base import CheckContext, Messages, Verdict, response_text

CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`|https?://\S+", re.DOTALL)
MIN_LETTERS = 24


@lru_cache(maxsize=1)
def detector() -> Any:
    """One detector per process. Low-accuracy mode uses the small trigram models only:
    about a tenth of a millisecond per answer and a bounded amount of memory."""
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def iso_code(language: Any) -> str:
    return str(language.iso_code_639_1.name).lower()


def detect(text: str) -> tuple[str | None, float]:
    """The most likely ISO 639-1 code of ``text`` and the detector's confidence in it."""
    values = detector().compute_language_confidence_values(text)
    if not values:
        return None, 0.0
    best = values[0]
    return iso_code(best.language), float(best.value)


def language_name(code: str) -> str:
    from lingua import IsoCode639_1, Language

    try:
        return str(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())).name).title()
    except (AttributeError, ValueError):
        return code


def check_language(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """The answer is in the project's language."""
    expected = str(options.get("language") or context.language or "en").lower()
    text = CODE.sub(" ", response_text(messages))
    letters = sum(c.isalpha() for c in text)
    if letters < int(options.get("min_letters", MIN_LETTERS)):
        return Verdict.ok("The answer is too short to tell its language.", detected=None)
    code, confidence = detect(text)
    if code is None or code == expected:
        return Verdict.ok(f"The answer is in {language_name(expected)}.", detected=code)
    if confidence < float(options["min_confidence"]):
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
