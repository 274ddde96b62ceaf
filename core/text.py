"""Text as it is stored: one kind of line end, whatever the browser or client sent."""

from __future__ import annotations

import json
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
