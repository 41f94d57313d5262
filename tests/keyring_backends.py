"""Keyring backends the tests choose for themselves (never the user's keychain, never a
package installed into the environment): a JSON file under the test's tmp folder, so a
subprocess and the test can share it. Selected with PYTHON_KEYRING_BACKEND and TEST_KEYRING_FILE."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class JsonFileKeyring(KeyringBackend):
    """Passwords in the JSON file named by TEST_KEYRING_FILE (a test's tmp folder)."""

    priority = 1

    @property
    def file_path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self) -> dict:
        return json.loads(self.file_path.read_text()) if self.file_path.exists() else {}

    def get_password(self, service, username):
        return self._load().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        stored = self._load()
        stored[f"{service}/{username}"] = password
        self.file_path.write_text(json.dumps(stored))

    def delete_password(self, service, username):
        stored = self._load()
        if stored.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self.file_path.write_text(json.dumps(stored))


class MemoryKeyring(KeyringBackend):
    """An in-process keyring that forgets everything with the test (set with keyring.set_keyring)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class PlaintextFileKeyring(JsonFileKeyring):
    """Like keyrings.alt's PlaintextKeyring: a file anyone with read access can read. `login`
    must refuse it (the tests use it so they need not install keyrings.alt)."""
