"""Fixtures of the trust-path tests: a campaign whose account has both SMTP and IMAP."""

from __future__ import annotations

import pytest

from tests.conftest import Campaign, imap_settings
from tests.trust.kit import FOLLOW_UP


class MailboxCampaign(Campaign):
    """A :class:`Campaign` whose .env also names the IMAP account, whatever ``configure`` is given.

    SMTP and IMAP share one secret (``OUTREACH_PASSWORD_COMMAND``), so the SMTP server is started
    with the Dovecot password."""

    def __init__(self, ws, server, ca_file, account):
        self.account = account
        self.imap = imap_settings(account.server, account.user, ca_file)
        super().__init__(ws, server, ca_file)
        (ws / "templates" / "follow_up.txt").write_text(FOLLOW_UP, encoding="utf-8")

    def configure(self, **extra: str | None) -> None:
        super().configure(**{**self.imap, **extra})


@pytest.fixture
def world(workspace, mail_account, tls_cert):
    """A workspace that sends through aiosmtpd and reads (and drafts into) a fresh Dovecot mailbox.

    Yields the :class:`MailboxCampaign`; ``world.server`` is the SMTP server, ``world.account``
    the :class:`tests.conftest.MailAccount`."""
    from tests.dovecot_server import PASSWORD
    from tests.smtp_server import MailServer

    with MailServer(*tls_cert, mode="starttls", password=PASSWORD) as smtp:
        yield MailboxCampaign(workspace, smtp, tls_cert[0], mail_account)
