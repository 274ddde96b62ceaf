"""Text as it is stored: one kind of line end, whatever the browser or client sent."""

from __future__ import annotations

import json
import re
from typing import Any


def line_ends(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` (form posts, Windows clients) become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def loads_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for the decoder reported as the ValueError
    every other malformed document raises, so callers answer it as bad input."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` as any database and UTF-8 encoder takes it: without NUL characters,
    and with each unpaired surrogate (half of a character) replaced by U+FFFD, the
    replacement character; a high and a low half side by side become the one character
    they spell."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def clean_data(value: Any) -> Any:
    """``value`` (parsed JSON) with :func:`clean_text` applied to every string in it,
    keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_data(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_data(v) for k, v in value.items()}
    return value
