"""Address syntax, by email-validator, once per domain.

email-validator's checks of the domain (IDNA, label rules, optional DNS) are most of its cost,
and a contact list has few domains. The first address seen on a domain is validated in full;
later ones on the same domain are accepted when their local part is a plain RFC 5322 dot-atom,
which email-validator accepts anyway. Anything unusual goes through email-validator in full.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

__all__ = ["AddressValidator", "EmailNotValidError"]

DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
DNS_TIMEOUT = 3


class AddressValidator:
    """``validator(text)`` -> the ASCII address to send to, or raises ``EmailNotValidError``.

    Internationalized mailbox names (``josé@``) are refused: they need SMTPUTF8 end to end,
    which many university servers lack. Internationalized domains come back as punycode.
    """

    def __init__(self, check_dns: bool = False):
        self.check_dns = check_dns
        self.domains: dict[str, str] = {}  # domain as written -> its ASCII form

    def __call__(self, text: str) -> str:
        local, at, domain = text.rpartition("@")
        ascii_domain = self.domains.get(domain)
        if ascii_domain and len(local) <= 64 and len(text) <= 254 and DOT_ATOM.fullmatch(local):
            return f"{local}@{ascii_domain}"
        valid = validate_email(text, check_deliverability=self.check_dns, allow_smtputf8=False,
                               timeout=DNS_TIMEOUT if self.check_dns else None)
        self.domains[domain] = valid.ascii_domain
        return valid.ascii_email
