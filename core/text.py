"""Text as it is stored: one kind of line end, whatever the browser or client sent."""

from __future__ import annotations


def line_ends(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` (form posts, Windows clients) become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
