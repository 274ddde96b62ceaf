"""Train/validation split by a stable hash, and exact de-duplication.

An item's side of the split depends only on its identity (external id, or its id when it
has none) and the seed, never on what else is exported: adding items to a project never
moves an existing item from train to validation or back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

TRAIN = "train"
VALIDATION = "validation"


def split_key(*, item_id: int, external_id: str | None) -> str:
    return f"ext:{external_id}" if external_id else f"item:{item_id}"


def in_validation(key: str, *, fraction: float, seed: int) -> bool:
    """Whether the item with ``key`` belongs to the validation set: the first 8 bytes of
    ``sha256(seed:key)`` read as a fraction of 2**64, below ``fraction``."""
    return validation_picker(fraction=fraction, seed=seed)(key)


def validation_picker(*, fraction: float, seed: int) -> Callable[[str], bool]:
    """:func:`in_validation` for one export's fraction and seed, set up once: a million
    rows call it a million times."""
    if fraction <= 0:
        return lambda key: False
    prefix = hashlib.sha256(f"{seed}:".encode())
    limit = fraction * 2**64
    from_bytes = int.from_bytes

    def pick(key: str) -> bool:
        digest = prefix.copy()
        digest.update(key.encode())
        return from_bytes(digest.digest()[:8], "big") < limit

    return pick


class Deduplicator:
    """Remembers an 8-byte digest of every line seen; ``seen(line)`` is True for repeats.

    Eight bytes per line keep memory small for millions of rows; a false repeat needs
    a 64-bit collision (about one chance in 10**7 at a million rows)."""

    def __init__(self) -> None:
        self._digests: set[bytes] = set()
        self.dropped = 0

    def seen(self, line: bytes) -> bool:
        digest = hashlib.blake2b(line, digest_size=8).digest()
        if digest in self._digests:
            self.dropped += 1
            return True
        self._digests.add(digest)
        return False
