"""Which line first held each key — for duplicates across a million rows in 12 bytes a key.

A dict of the keys would grow by about 100 bytes a row; :class:`Fingerprints` keeps each key's
64-bit hash and a 32-bit number (its first line, or a line with more packed in) in arrays, spread
over buckets by the hash as the keys stream in (one bucket for about :data:`BUCKET_KEYS` keys
expected, at most :data:`MAX_BUCKETS`). Once all are in, each bucket is sorted on its own:
building never holds more than one bucket's worth of Python objects (merging sorted chunks held
every key twice at its peak), and a lookup is one binary search in a bucket of a few hundred
hashes (a thousand or two past 250,000 keys), however long the sheet (a search in every chunk
made a 1,000,000-row sheet quadratic: 60 s instead of 5). Few buckets keep the adds' working
set small: each add touches its bucket's two arrays, and at a million rows 4,096 buckets an
index (three indexes) cost a cache miss an add that 1,024 do not (adds and sorting 5.6 → 4.7 µs
a row in a stand-in; 256 buckets made the sorting dearer than the adds saved). Equal hashes
sort by number, so the first of them is the smallest: the first line. Two different keys share
a hash with odds of about 1 in 10^9 at 100,000 rows; the cost of that is one wrong warning.

Most keys are stored once. A row asking about its own key (:meth:`Fingerprints.first_of_own`)
needs no search unless its hash was stored more than once: when the buckets are sorted, each
hash that was sets a bit in a filter of one bit a key, and only a key whose bit is set (a
repeat, or one sharing the bit by chance) is searched. At a million rows a search costs 1-2 µs
(a cache miss a probe: 1.6 µs in buckets of 250-500 hashes); the filter's bit a fraction of that.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import pairwise
from typing import Self

BUCKET_KEYS = 256   # keys expected per bucket
MAX_BUCKETS = 1024  # a power of two, as every bucket count: a key's bucket is the low bits of its hash
REPEAT_SHIFT = 16  # a hash's bit in the filter of repeats is taken above the bits that chose its bucket


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
        self._repeated = bytearray()  # a bit for the hashes stored more than once (REPEAT_SHIFT up): made by freeze

    def add(self, key: str, number: int) -> None:
        digest = hash(key)
        bucket = digest & self._mask
        self._hashes[bucket].append(digest)
        self._numbers[bucket].append(number)
        self._count += 1

    def freeze(self) -> Self:
        """Sort each bucket by hash, then number; mark the hashes stored more than once."""
        self._repeated = bytearray(max(8, self._count) + 7 >> 3)
        self._repeat_mask = (len(self._repeated) << 3) - 1
        for bucket, hashes in enumerate(self._hashes):
            if len(hashes) > 1:
                pairs = sorted(zip(hashes, self._numbers[bucket], strict=True))
                digests = [digest for digest, _ in pairs]
                self._hashes[bucket] = array("q", digests)
                self._numbers[bucket] = array("I", [number for _, number in pairs])
                if len(set(digests)) < len(digests):  # told in C; the rare bucket with repeats is walked
                    self._keep_repeated(pairs)
        return self

    def _keep_repeated(self, pairs: list[tuple[int, int]]) -> None:
        """Mark each hash a sorted bucket holds more than once."""
        for (digest, _), (following, _) in pairwise(pairs):
            if digest == following:
                place = digest >> REPEAT_SHIFT & self._repeat_mask
                self._repeated[place >> 3] |= 1 << (place & 7)

    def first(self, key: str) -> int | None:
        """The smallest number stored with ``key``, or None."""
        digest = hash(key)
        bucket = digest & self._mask
        hashes = self._hashes[bucket]
        index = bisect_left(hashes, digest)
        if index < len(hashes) and hashes[index] == digest:
            return self._numbers[bucket][index]
        return None

    def first_of_own(self, key: str, number: int) -> int | None:
        """What :meth:`first` answers for ``key``, which the caller knows was stored with ``number``:
        that number, without a search, unless the key's hash may have been stored more than once."""
        place = hash(key) >> REPEAT_SHIFT & self._repeat_mask
        return self.first(key) if self._repeated[place >> 3] >> (place & 7) & 1 else number

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

    def first_of_own(self, key: str, line: int) -> int | None:
        """The first line that held ``key``, which ``line`` is known to have held (see Fingerprints)."""
        return self._index.first_of_own(key, line)
