"""One normalization for every format, and the prompt fingerprint built on it.

Text is NFC-normalized, ``\\r\\n`` and lone ``\\r`` become ``\\n``, and surrounding
whitespace is trimmed. The checks reuse :func:`normalize_text` and :func:`prompt_hash`
to find exact duplicates, so an imported prompt and a prompt typed later compare equal.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping


def normalize_text(text: str) -> str:
    """NFC, ``\\n`` line ends, no leading or trailing whitespace."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def _hash_normalized(messages: Iterable[tuple[str, str]]) -> str:
    # Record and unit separators cannot occur in a role; the encoding is unambiguous.
    payload = "\x1e".join(f"{role}\x1f{content}" for role, content in messages)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def prompt_hash(messages: Iterable[Mapping[str, str]]) -> str:
    """sha256 (hex) of the normalized ``[{"role", "content"}]`` messages of a prompt.

    Two prompts that differ only in Unicode form, line endings or surrounding
    whitespace get the same hash.
    """
    return _hash_normalized((str(m["role"]), normalize_text(str(m["content"]))) for m in messages)
