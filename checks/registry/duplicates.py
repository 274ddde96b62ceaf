"""Exact and near-duplicate detection, of whole conversations and of answers alone.

The signature is one-permutation MinHash with densification (Shrivastava 2017): each
word 3-gram of the normalized text is hashed once and lands in one of ``NUM_HASHES``
bins, which keep their minimum. Bands of ``ROWS`` bins hash to one 64-bit key each; two
texts whose Jaccard similarity is high share a band key with high probability. The
service stores the keys in an indexed table, so a lookup is a handful of index probes,
never a scan of the project. The last answer alone gets its own hash, signature and band
keys (in another band namespace), so an answer copied onto a different prompt is found
the same way.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from array import array
from collections.abc import Mapping
from typing import Any

from checks.registry.base import CheckContext, Messages, Verdict, contents, last_response

BANDS = 10
ROWS = 5
NUM_HASHES = BANDS * ROWS
SHINGLE = 3
_MASK32 = 0xFFFFFFFF
_EMPTY = _MASK32 + 1
_WORD = re.compile(r"\w+", re.UNICODE)
# The answer's band keys are salted with band numbers after the conversation's.
ANSWER_BANDS = BANDS


def normalize(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form used for hashing."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def text_of(messages: Messages) -> str:
    return "\n".join(contents(messages))


def text_hash(messages: Messages) -> str:
    """Hash of the whole conversation, for exact duplicates."""
    return hashlib.sha256(normalize(text_of(messages)).encode()).hexdigest()


def answer_of(messages: Messages) -> str:
    """The last answer, the text the copied-answer check compares."""
    return last_response(messages).strip()


def answer_hash(messages: Messages) -> str:
    """Hash of the last answer alone; empty when there is no answer."""
    normalized = normalize(answer_of(messages))
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else ""


def shingles(text: str) -> set[bytes]:
    words = normalize(text).split()
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


def _h64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def signature(text: str) -> array[int]:
    """``NUM_HASHES`` 32-bit values; empty texts give all-empty bins."""
    bins = [_EMPTY] * NUM_HASHES
    for shingle in shingles(text):
        h = _h64(shingle)
        b = h % NUM_HASHES
        v = (h >> 32) & _MASK32
        if v < bins[b]:
            bins[b] = v
    filled = [i for i, v in enumerate(bins) if v != _EMPTY]
    if filled and len(filled) < NUM_HASHES:
        # Rotation densification: an empty bin borrows from the next filled bin to the
        # right, offset by the distance, so equal texts stay equal and similar stay close.
        out = list(bins)
        for i in range(NUM_HASHES):
            if bins[i] == _EMPTY:
                d = 1
                while bins[(i + d) % NUM_HASHES] == _EMPTY:
                    d += 1
                out[i] = (bins[(i + d) % NUM_HASHES] + d * 0x9E3779B1) & _MASK32
        bins = out
    return array("I", [v & _MASK32 for v in bins])


def band_keys(sig: array[int], *, namespace: int = 0) -> list[int]:
    """One signed 64-bit key per band (fits a PostgreSQL bigint). ``namespace`` offsets
    the band numbers hashed into the keys (``ANSWER_BANDS`` for answers), so keys of
    different texts of one item never match each other."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS : (band + 1) * ROWS].tobytes()
        value = _h64(bytes([namespace + band]) + chunk)
        keys.append(value - (1 << 64) if value >= (1 << 63) else value)
    return keys


def similarity(a: array[int] | bytes, b: array[int] | bytes) -> float:
    """Estimated Jaccard similarity of two signatures."""
    sa = a if isinstance(a, array) else array("I", a)
    sb = b if isinstance(b, array) else array("I", b)
    if len(sa) != len(sb) or not sa:
        return 0.0
    return sum(x == y for x, y in zip(sa, sb, strict=True)) / len(sa)


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of the two texts' shingle sets."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def check_exact_duplicate(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """No other item of the project has the same prompt (or the same whole conversation)."""
    exact = [d for d in context.duplicates if d.exact and d.what != "answer"]
    if not options.get("same_prompt", True):
        exact = [d for d in exact if d.what == "pair"]
    if not exact:
        return Verdict.ok("No exact duplicate in the project.")
    first = exact[0]
    what = "prompt" if first.what == "prompt" else "conversation"
    return Verdict.problem(
        f"The same {what} is already item #{first.item_id}"
        + (f" (and {len(exact) - 1} more)." if len(exact) > 1 else "."),
        items=[d.item_id for d in exact],
        duplicate_of=first.item_id,
    )


def check_near_duplicate(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """No other item of the project is nearly the same text (Jaccard ≥ the threshold)."""
    threshold = float(options["threshold"])
    near = sorted(
        (
            d
            for d in context.duplicates
            if not d.exact and d.what != "answer" and d.similarity >= threshold
        ),
        key=lambda d: -d.similarity,
    )
    if not near:
        return Verdict.ok("No near-duplicate in the project.")
    first = near[0]
    return Verdict.problem(
        f"Nearly the same as item #{first.item_id} ({first.similarity:.0%} similar).",
        items=[{"item": d.item_id, "similarity": round(d.similarity, 3)} for d in near[:10]],
        duplicate_of=first.item_id,
    )


def check_duplicate_answer(
    messages: Messages, context: CheckContext, options: Mapping[str, Any]
) -> Verdict:
    """No other item of the project has the same (or nearly the same) answer to a different
    prompt: a copy-pasted answer. Answers shorter than ``min_chars`` are not compared."""
    answer = answer_of(messages)
    if len(answer) < int(options["min_chars"]):
        return Verdict.ok("The answer is too short to compare with other answers.")
    threshold = float(options["threshold"])
    copied = sorted(
        (d for d in context.duplicates if d.what == "answer" and d.similarity >= threshold),
        key=lambda d: (-d.similarity, d.item_id),
    )
    if not copied:
        return Verdict.ok("No other item has this answer.")
    first = copied[0]
    how = (
        "the same"
        if first.similarity >= 1.0
        else f"nearly the same ({first.similarity:.0%} similar)"
    )
    more = f" (and {len(copied) - 1} more)" if len(copied) > 1 else ""
    return Verdict.problem(
        f"The answer is {how} as the answer of item #{first.item_id}{more}, "
        "which has a different prompt.",
        items=[{"item": d.item_id, "similarity": round(d.similarity, 3)} for d in copied[:10]],
        duplicate_of=first.item_id,
    )
