"""Who the messages speak for: the example applicant the shipped files sign as, the user who
replaces her, and the placeholders left when the user has not said who they are yet.

The shipped templates are a working demo signed by a fictional applicant (Asha Rao). A real
user's message that still says "I am Asha Rao" would be a disaster, so ``outreach init`` writes
the user's details into the files it copies, and ``check`` refuses a message that still carries
a placeholder or the example's details while the sender is someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    email: str
    school: str
    signature: str  # the lines under "Best regards,"


EXAMPLE = Persona("Asha Rao", "asha.rao@example.org", "Kaveri Valley Medical College",
                  "Asha Rao, MBBS\nasha.rao@example.org | +1 (312) 555-0147")
PLACEHOLDERS = Persona("[[YOUR NAME]]", "you@example.invalid", "[[YOUR MEDICAL SCHOOL]]", "[[YOUR SIGNATURE]]")

# The example's signatures as the shipped files spell them, longest first, and what else in a
# message gives her away (her AAMC ID, her phone number, her school).
EXAMPLE_SIGNATURES = ("Asha Rao, MBBS\nAAMC ID 14920376 | asha.rao@example.org", EXAMPLE.signature)
EXAMPLE_MARKS = ("Asha Rao", "asha.rao@", "14920376", "555-0147", "Kaveri Valley")
PLACEHOLDER = re.compile(r"\[\[[A-Z][A-Z ]*\]\]")


def personalize(text: str, persona: Persona) -> str:
    """A shipped file (template or .env) with the example's details replaced by ``persona``'s."""
    for signature in EXAMPLE_SIGNATURES:
        text = text.replace(signature, persona.signature)
    for old, new in ((EXAMPLE.school, persona.school), ("Kaveri Valley", persona.school),
                     (EXAMPLE.email, persona.email), (EXAMPLE.name, persona.name)):
        text = text.replace(old, new)
    return text


def is_example_sender(name: str, addr_spec: str) -> bool:
    """The sender is the example applicant herself (the demo), by name or by mailbox name."""
    return name.strip().casefold() == EXAMPLE.name.casefold() or \
        addr_spec.partition("@")[0].casefold() == EXAMPLE.email.partition("@")[0]


def borrowed_details(text: str, sender_name: str | None, sender_addr: str | None) -> list[str]:
    """What in ``text`` is not the sender's own: placeholders always, the example's details
    unless the sender is the example."""
    found = sorted(set(PLACEHOLDER.findall(text)))
    if sender_addr is not None and not is_example_sender(sender_name or "", sender_addr):
        found += [mark for mark in EXAMPLE_MARKS if mark in text]
    return found
