"""Which line first held each key — for duplicates across 100,000 rows in about 1.2 MB.

A dict of the keys would grow by about 100 bytes a row; this keeps 64-bit hashes and line
numbers in sorted arrays (12 bytes a row), one pair of arrays per chunk of rows, so that
building it never holds more than one chunk of Python objects. Chunks are in file order, so the
first chunk that has a key has its first line. Two different keys share a hash with odds of
about 1 in 10^9 at 100,000 rows; the cost of that is one wrong warning.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

CHUNK = 8192


class FirstLines:
    def __init__(self, pairs: Iterable[tuple[str, int]]):
        """``pairs`` are (key, line) in file order; empty keys are ignored."""
        self.chunks: list[tuple[array[int], array[int]]] = []
        batch: list[tuple[int, int]] = []
        for key, line in pairs:
            if key:
                batch.append((hash(key), line))
                if len(batch) == CHUNK:
                    self._add(batch)
                    batch = []
        self._add(batch)

    def _add(self, batch: list[tuple[int, int]]) -> None:
        batch.sort()  # by hash, then line: the first of equal hashes is the earliest line
        self.chunks.append((array("q", [h for h, _ in batch]), array("i", [line for _, line in batch])))

    def first(self, key: str) -> int | None:
        """The first line that held ``key``, or None."""
        digest = hash(key)
        for hashes, lines in self.chunks:
            index = bisect_left(hashes, digest)
            if index < len(hashes) and hashes[index] == digest:
                return lines[index]
        return None
