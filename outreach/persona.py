"""Who the messages speak for: the example applicant the shipped files sign as, the user who
replaces her, and the placeholders left when the user has not said who they are yet.

The shipped templates are a working demo signed by a fictional applicant (Asha Rao). A real
user's message that still says "I am Asha Rao", or claims her exam results and her research,
would be a disaster, so ``outreach init`` asks for every fact the templates state about the
applicant and writes the answers (or a ``[[PLACEHOLDER]]`` for each one not given) into the
files it copies; ``check`` refuses a message that still carries a placeholder or the example's
details while the sender is someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Persona:
    name: str
    email: str
    school: str
    country: str      # where the school is: "in India"
    degree: str       # "MBBS", "MD"
    year: str         # of graduation
    exams: str        # completes "I have ...": "passed USMLE Step 1 and Step 2 CK"
    city: str         # where the applicant lives now
    experience: str   # one or two sentences of research experience
    signature: str    # the lines under "Best regards,"


@dataclass(frozen=True)
class Question:
    """One thing ``init`` asks: the Persona field, the question, and an example answer."""

    key: str
    text: str
    example: str


EXAMPLE = Persona(
    name="Asha Rao", email="asha.rao@example.org", school="Kaveri Valley Medical College", country="India",
    degree="MBBS", year="2023", exams="passed USMLE Step 1 and Step 2 CK", city="Chicago",
    experience="At Kaveri Valley, I co-authored a retrospective study of chest CT findings in scrub typhus and "
               "spent six months labeling radiographs for a tuberculosis screening dataset.",
    signature="Asha Rao, MBBS\nasha.rao@example.org | +1 (312) 555-0147")
PLACEHOLDERS = Persona(
    name="[[YOUR NAME]]", email="you@example.invalid", school="[[YOUR MEDICAL SCHOOL]]", country="[[YOUR COUNTRY]]",
    degree="[[YOUR DEGREE]]", year="[[YOUR GRADUATION YEAR]]", exams="[[YOUR USMLE PROGRESS]]", city="[[YOUR CITY]]",
    experience="[[YOUR RESEARCH EXPERIENCE]]", signature="[[YOUR SIGNATURE]]")

# In the order init asks them; the signature comes last, its default made from the answers.
QUESTIONS = (
    Question("name", "Your name, as recipients see it", "Priya Nair"),
    Question("email", "Your email address", "priya.nair@example.org"),
    Question("school", "Your medical school", "Malabar Medical College"),
    Question("country", "The country it is in", "India"),
    Question("degree", "Your medical degree", "MBBS"),
    Question("year", "The year you graduated (or will)", "2024"),
    Question("exams", "Your USMLE progress, finishing 'I have ...'", "passed Step 1 and taken Step 2 CK"),
    Question("city", "The city you live in now", "Houston"),
    Question("experience", "Your research experience, one or two sentences",
             "At Malabar, I helped run a prospective study of point-of-care ultrasound in trauma."),
    Question("signature", "Your signature (\\n for a new line)", "Priya Nair, MBBS\\npriya.nair@example.org"),
)
ASKED = {question.key: question for question in QUESTIONS}

# The sentences of the shipped templates that state facts about the applicant. Each is replaced
# whole, the example's words by the user's, so a fact can never be replaced where it means
# something else (a "2023" in a note, "India" in a program's name).
FACT_SENTENCES = (
    "{name}, an international medical graduate of {school} in {country} ({degree}, {year}), now living in {city}.",
    "I have {exams} and plan to apply",
    "{experience}",
)
# The example's signatures as the shipped files spell them, longest first.
EXAMPLE_SIGNATURES = ("Asha Rao, MBBS\nAAMC ID 14920376 | asha.rao@example.org", EXAMPLE.signature)
# What in a message gives the example away: her name and mailbox, AAMC ID, phone, school, and her
# research. Not her country, year, exams or city alone: a real applicant may share any of them,
# so those are asked for by init rather than refused by check.
EXAMPLE_MARKS = ("Asha Rao", "asha.rao@", "14920376", "555-0147", "Kaveri Valley", "scrub typhus",
                 "tuberculosis screening dataset")
PLACEHOLDER = re.compile(r"\[\[[A-Z][A-Z ]*\]\]")
_TEMPLATE_CODE = re.compile(r"\{[{%#]")


def personalize(text: str, persona: Persona) -> str:
    """A shipped file (template or .env) with the example's details replaced by ``persona``'s."""
    example, mine = vars(EXAMPLE), vars(persona)
    for sentence in FACT_SENTENCES:
        text = text.replace(sentence.format_map(example), sentence.format_map(mine))
    for signature in EXAMPLE_SIGNATURES:
        text = text.replace(signature, persona.signature)
    for old, new in ((EXAMPLE.school, persona.school), ("Kaveri Valley", persona.school),
                     (EXAMPLE.email, persona.email), (EXAMPLE.name, persona.name)):
        text = text.replace(old, new)
    return text


def default_signature(name: str, degree: str, email: str) -> str:
    """"Priya Nair, MBBS" over the address, from what was answered; a placeholder without a name."""
    if name == PLACEHOLDERS.name:
        return PLACEHOLDERS.signature
    first = name if degree == PLACEHOLDERS.degree else f"{name}, {degree}"
    return first if email == PLACEHOLDERS.email else f"{first}\n{email}"


def answer_problem(key: str, value: str) -> str | None:
    """Why ``value`` cannot be the answer for ``key`` (it goes into .env or a template), or None."""
    if any(ord(c) < 32 and c != "\n" for c in value) or (key != "signature" and "\n" in value):
        return "control characters and line breaks cannot go in"
    if _TEMPLATE_CODE.search(value):
        return "'{{', '{%' and '{#' would be read as template code"
    if key == "name" and any(c in value for c in '<>@,;:"\\'):
        return ("OUTREACH_FROM could not be read back with <, >, @, a comma, colon, semicolon, quote or backslash "
                "in the name (a degree goes in the signature)")
    if key == "email" and any(c in value for c in '"\\'):
        return "quotes and backslashes cannot go in .env"
    if key == "email":
        from outreach.addresses import AddressValidator, InvalidAddress

        try:
            AddressValidator()(value)
        except InvalidAddress as e:
            reason = str(e).rstrip(".")
            return f"not an email address like {ASKED['email'].example} ({reason[:1].lower()}{reason[1:]})"
    if key == "year" and not re.fullmatch(r"(19|20)\d\d", value):
        return "not a year like 2023"
    return None


def has_placeholders(persona: Persona) -> bool:
    """Some answer is still a placeholder."""
    return any(getattr(persona, f.name) == getattr(PLACEHOLDERS, f.name) for f in fields(Persona))


def is_example_sender(name: str, addr_spec: str) -> bool:
    """The sender is the example applicant herself (the demo), by name or by mailbox name."""
    return name.strip().casefold() == EXAMPLE.name.casefold() or \
        addr_spec.partition("@")[0].casefold() == EXAMPLE.email.partition("@")[0]


def borrowed_details(text: str, sender_name: str | None, sender_addr: str | None) -> list[str]:
    """What in ``text`` is not the sender's own: placeholders always, the example's details
    unless the sender is the example."""
    found = sorted(set(PLACEHOLDER.findall(text))) if "[[" in text else []  # the usual text: none, told in C
    if sender_addr is not None and not is_example_sender(sender_name or "", sender_addr):
        found += [mark for mark in EXAMPLE_MARKS if mark in text]
    return found
