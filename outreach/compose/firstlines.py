"""Which line first held each key — for duplicates across a million rows in 12 bytes a key.

A dict of the keys would grow by about 100 bytes a row; :class:`Fingerprints` keeps each key's
64-bit hash and a 32-bit number (its first line, or a line with more packed in) in arrays, spread
over buckets by the hash as the keys stream in (one bucket for about :data:`BUCKET_KEYS` keys
expected, at most :data:`MAX_BUCKETS`). Once all are in, each bucket is sorted on its own:
building never holds more than one bucket's worth of Python objects (merging sorted chunks held
every key twice at its peak), and a lookup is one binary search in a bucket of a few hundred
hashes, however long the sheet (a search in every chunk made a 1,000,000-row sheet quadratic:
60 s instead of 5). Equal hashes sort by number, so the first of them is the
smallest: the first line. Two different keys share a hash with odds of about 1 in 10^9 at
100,000 rows; the cost of that is one wrong warning.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Self

BUCKET_KEYS = 256   # keys expected per bucket
MAX_BUCKETS = 4096  # a power of two, as every bucket count: a key's bucket is the low bits of its hash


def buckets_for(expected: int) -> int:
    """Buckets for about ``expected`` keys (an overestimate costs a few empty arrays)."""
    return 1 << min(MAX_BUCKETS.bit_length() - 1, max(0, (expected // BUCKET_KEYS).bit_length()))


class Fingerprints:
    """key -> the smallest number stored with it (see the module's docstring). ``add`` every key,
    then ``freeze`` once; ``first`` only after that."""

    def __init__(self, expected: int = 0, *, buckets: int | None = None):
        buckets = buckets or buckets_for(expected)
        self._mask = buckets - 1
        self._count = 0
        self._hashes = [array("q") for _ in range(buckets)]
        self._numbers = [array("I") for _ in range(buckets)]

    def add(self, key: str, number: int) -> None:
        digest = hash(key)
        bucket = digest & self._mask
        self._hashes[bucket].append(digest)
        self._numbers[bucket].append(number)
        self._count += 1

    def freeze(self) -> Self:
        """Sort each bucket by hash, then number."""
        for bucket, hashes in enumerate(self._hashes):
            if len(hashes) > 1:
                pairs = sorted(zip(hashes, self._numbers[bucket], strict=True))
                self._hashes[bucket] = array("q", [digest for digest, _ in pairs])
                self._numbers[bucket] = array("I", [number for _, number in pairs])
        return self

    def first(self, key: str) -> int | None:
        """The smallest number stored with ``key``, or None."""
        digest = hash(key)
        bucket = digest & self._mask
        hashes = self._hashes[bucket]
        index = bisect_left(hashes, digest)
        if index < len(hashes) and hashes[index] == digest:
            return self._numbers[bucket][index]
        return None

    def __len__(self) -> int:
        return self._count


class FirstLines:
    def __init__(self, pairs: Iterable[tuple[str, int]], expected: int = 0, *, buckets: int | None = None):
        """``pairs`` are (key, line) in any order, about ``expected`` of them; empty keys are ignored."""
        self._index = Fingerprints(expected, buckets=buckets)
        add = self._index.add
        for key, line in pairs:
            if key:
                add(key, line)
        self._index.freeze()

    def first(self, key: str) -> int | None:
        """The first line that held ``key``, or None."""
        return self._index.first(key)
