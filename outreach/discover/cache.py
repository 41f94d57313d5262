"""NCBI's answers kept in the workspace, so that no request is ever made twice.

One gzip file per answer under ``.outreach/pubmed/``, named by a hash of what was asked (never
of the API key, the tool name or the email, which do not change the answer), written whole or
not at all. A run cut short keeps every answer it had; the next run asks only for the rest.
Only answers that were read successfully are kept. A search goes stale (new papers appear), so
a kept one is used for :data:`SEARCH_LIFETIME`; a record is kept until the folder is removed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import zlib
from pathlib import Path

from outreach.files import write_atomically

FOLDER = Path(".outreach") / "pubmed"
SEARCH_LIFETIME = 24 * 3600  # seconds


class Cache:
    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def key(endpoint: str, params: dict[str, str]) -> str:
        """What identifies an answer: the endpoint and its parameters, in a stable order."""
        text = json.dumps([endpoint, sorted(params.items())], ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.xml.gz"

    def get(self, key: str, max_age: float | None = None) -> bytes | None:
        """The answer kept under ``key``; None when there is none, or it is older than ``max_age`` seconds."""
        path = self._path(key)
        try:
            if max_age is not None and time.time() - path.stat().st_mtime > max_age:
                return None
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error):  # none, or a damaged file: ask again
            return None

    def put(self, key: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path(key), gzip.compress(data, compresslevel=6))

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
