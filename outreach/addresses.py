"""Addresses: their syntax (email-validator, once per domain) and their identity.

One mailbox can be typed many ways: ``Jane@EXAMPLE.edu``, ``jane@example.edu`` with the domain in
full-width letters (as a Japanese or Chinese input method types it), ``jose@univé.fr`` with a
precomposed or a combining accent, ``jose@xn--univ-epa.fr``.
Its *identity* is one string for all of them: the domain in its IDNA ASCII form (UTS-46 maps
full-width forms and case, NFC composes accents, then punycode), the mailbox name in lower case.
The identity is what the tool sends to, and the key of duplicate rows, the store, a person's
history, suppressions and reply matching. An address gets it once, where it enters: the sheet
(:class:`AddressValidator`), ``mark`` (:func:`identity`), the mailbox and the store
(:func:`address_key`, which never refuses).

Why the mailbox name is lowered, and sent that way: RFC 5321 lets a server treat ``Jane`` and
``jane`` as two mailboxes but discourages relying on it, and no university or hospital server
does. The tool already counted them as one person (one message for both rows), so sending to the
identity keeps the envelope, the To header, the store's key and what incoming mail is matched
against the same string, with nothing to keep in step.

Internationalized mailbox names (``josé@``) are refused: they need SMTPUTF8 end to end, which
many university servers lack. So an identity is always ASCII.

Special-use domain names (RFC 6761) are refused as email-validator refuses them, since no
message to them can reach a person; ``.test`` and ``.localhost`` are accepted only when the
user says so (``OUTREACH_ALLOW_TEST_DOMAINS=yes``, :func:`outreach.config.allows_test_domains`),
to try the tool against a mail server of their own.

email-validator's checks of the domain (IDNA, label rules, optional DNS) are most of its cost,
and importing it compiles its regular expressions (about 20 ms, a quarter of `check`'s start).
Most addresses are plain: a dot-atom before the ``@``, ASCII letters, digits and inner hyphens
in the labels after it, a top-level domain of letters that is not a special-use name. Those are
accepted here (:func:`plain_identity`), and email-validator is not even imported for them; a
property test checks that it accepts each of them with the same identity. Of the others, the
first address seen on a domain is validated in full, and later ones on the same domain are
accepted when their local part is a dot-atom. Anything unusual goes through email-validator.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["AddressValidator", "InvalidAddress", "address_key", "identity"]

DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# A domain email-validator leaves as it is, but for case: labels of ASCII letters, digits and inner
# hyphens (no "--", which IDNA reads specially), a top-level domain of letters.
PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# email-validator's special-use names (RFC 6761 and kin), refused there: never plain here.
SPECIAL_USE = frozenset(["arpa", "invalid", "local", "localhost", "onion", "test"])
DNS_TIMEOUT = 3
TEST_NAMES = ("test", "localhost")  # RFC 6761: for testing, and the machine itself
TEST_SETTING = "OUTREACH_ALLOW_TEST_DOMAINS"
MAX_DOMAINS = 4_096  # domains remembered; a sheet has far fewer, a hostile mailbox may have more


class InvalidAddress(ValueError):
    """Not an address the tool can send to; the text says why (email-validator's sentence)."""


class AddressValidator:
    """``validator(text)`` -> the address's identity, or raises :class:`InvalidAddress`.

    email-validator is imported on the first address that needs it: the store keys addresses
    too, and `status` should not pay for the import (30 ms) to read them."""

    def __init__(self, check_dns: bool = False, *, test_domains: bool = False):
        self.check_dns, self.test_domains = check_dns, test_domains
        self.domains: dict[str, str] = {}  # domain as written -> its ASCII form

    def __call__(self, text: str) -> str:
        text = text.strip()
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        local, _, domain = text.rpartition("@")
        ascii_domain = self.domains.get(domain)
        if ascii_domain and len(local) <= 64 and len(text) <= 254 and DOT_ATOM.fullmatch(local):
            return f"{local.lower()}@{ascii_domain}"
        if not self.check_dns and plain_identity(text) is not None:
            self._remember(domain, domain.lower())
            return text.lower()
        from email_validator import EmailNotValidError

        test_name = domain.rpartition(".")[2].lower()
        if test_name not in TEST_NAMES:
            test_name = ""
        try:
            local_part, ascii_domain = self._validate(text, test_name if self.test_domains else "")
        except EmailNotValidError as e:
            hint = self._hint(text, test_name)
            raise InvalidAddress(str(e).rstrip(".") + hint if hint else str(e)) from None
        self._remember(domain, ascii_domain.lower())
        return f"{local_part.lower()}@{self.domains[domain]}"

    def _remember(self, domain: str, ascii_domain: str) -> None:
        if len(self.domains) >= MAX_DOMAINS:
            self.domains.clear()
        self.domains[domain] = ascii_domain

    def _hint(self, text: str, test_name: str) -> str:
        """The setting that would let a refused ``.test`` or ``.localhost`` address through."""
        if not test_name or self.test_domains:
            return ""
        from email_validator import EmailNotValidError

        try:
            self._validate(text, test_name)
        except EmailNotValidError:
            return ""
        return f"; {TEST_SETTING}=yes allows .test and .localhost addresses, to try a mail server of your own"

    def _validate(self, text: str, test_name: str) -> tuple[str, str]:
        """(local part, ASCII domain) by email-validator. A ``test_name`` domain (allowed) is
        checked in email-validator's test environment, which lets ``.test`` through with no DNS
        look-up; ``.localhost`` is checked there as if it ended in ``.test``."""
        from email_validator import validate_email

        if not test_name:
            valid = validate_email(text, check_deliverability=self.check_dns, allow_smtputf8=False,
                                   timeout=DNS_TIMEOUT if self.check_dns else None)
            return valid.local_part, valid.ascii_domain
        stand_in = text[:len(text) - len(test_name)] + "test"
        valid = validate_email(stand_in, check_deliverability=False, allow_smtputf8=False, test_environment=True)
        return valid.local_part, valid.ascii_domain[:-len("test")] + test_name


def plain_identity(text: str) -> str | None:
    """The identity of a plain address (see the module's docstring), or None for any other text."""
    local, _, domain = text.rpartition("@")
    if (len(text) <= 254 and len(local) <= 64 and len(domain) <= 253 and PLAIN_DOMAIN.fullmatch(domain)
            and "--" not in domain and DOT_ATOM.fullmatch(local)
            and domain.rpartition(".")[2].lower() not in SPECIAL_USE):
        return text.lower()
    return None


_SHARED = AddressValidator()


_SHARED_WITH_TEST = AddressValidator(test_domains=True)


def identity(text: str, *, test_domains: bool = False) -> str:
    """The identity of an address a person typed (``mark``, ``--to``): raises :class:`InvalidAddress`."""
    return (_SHARED_WITH_TEST if test_domains else _SHARED)(text)


def address_key(text: str) -> str:
    """The identity of an address that came from elsewhere (a mail header, a report, an older
    store), and for one that is not valid, the text itself composed (NFC) and case-folded: a key
    to find it by, never a refusal. Idempotent, so keys can be keyed again.

    Plain ASCII addresses skip the validator: the IDNA form of an ASCII domain is that domain in
    lower case, so their identity is their lower case (sync keys the sender of every message)."""
    text = text.strip()
    if text.isascii():
        local, _, domain = text.rpartition("@")
        if DOT_ATOM.fullmatch(local) and "xn--" not in domain.lower():
            return text.lower()
    try:
        return _SHARED(text)
    except InvalidAddress:
        local, at, domain = text.rpartition("@")
        return f"{_folded(local)}{at}{_domain_key(domain)}" if at else _folded(text)


def _domain_key(domain: str) -> str:
    """A domain's IDNA ASCII form when it has one, else the domain folded."""
    try:
        return _SHARED(f"postmaster@{domain}").rpartition("@")[2]
    except InvalidAddress:
        return _folded(domain)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
