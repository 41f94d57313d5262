"""The open store: one connection, migrated on open, with one way to write (a transaction)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from outreach.clock import iso
from outreach.errors import UserError
from outreach.store.schema import MIGRATIONS, check_schema, configure, create, refuse_empty, statements, trouble

BATCH = 500  # addresses or keys per query: well under SQLite's limit on bound parameters


def utcnow() -> str:
    return iso(datetime.now(UTC))


class Connection:
    """An open store file, created (0600, fully migrated) on first use: what every part of
    :class:`outreach.store.Store` stands on.

    ``opened`` is the store this process opened last: the command line names it when SQLite
    fails later on (a full disk, a damaged page), see :func:`trouble`.
    """

    opened: Path | None = None

    def __init__(self, path: str | Path):
        self.path = Path(path)
        Connection.opened = self.path
        if not self.path.exists():
            create(self.path)
        refuse_empty(self.path)
        try:
            # mode=rw: never create an empty database behind our back (a store that vanished
            # must not silently become a new one: everyone would get a second copy).
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=10,
                                      isolation_level=None)
            self.db.row_factory = sqlite3.Row
            configure(self.db)
            check_schema(self.db, self.path)
            self._migrate()
        except sqlite3.Error as e:
            raise trouble(self.path, e) from None

    def _migrate(self) -> None:
        """Apply the missing migrations, each checking the version again inside its write
        transaction, so that two commands opening an old store at once upgrade it once. A store
        that is up to date is only read (so that `status` works on a read-only one)."""
        while (version := self._version()) != len(MIGRATIONS):
            if version > len(MIGRATIONS):
                raise UserError(f"{self.path}: was written by a newer outreach (schema {version}); upgrade outreach")
            with self.transaction():
                if self._version() == version:  # nobody upgraded it while we waited
                    for statement in statements(MIGRATIONS[version]):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version = {version + 1}")

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()


class _Transaction:
    """``with store.transaction():`` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if not exc_type:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
            self.db.execute("ROLLBACK")
