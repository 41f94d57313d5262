"""The regression tests of what the model found use the trust paths' workspace (SMTP and IMAP)."""

from tests.trust.conftest import world  # noqa: F401  (a fixture, used by name)
