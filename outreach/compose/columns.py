"""Column names: how a CSV header becomes a template variable, everywhere the tool reads one.

Spreadsheets name one column many ways: ``E-mail``, ``Program Name``, ``Interviewer(s)``,
``Start Time``, ``Time (ET)``. The columns the tool itself reads have one name each, and
:data:`SYNONYMS` lists the headers that mean it. A sheet's header row is resolved once per file
(:func:`read_header`): a synonym is read as its column, and still under its own name too, so a
template that says ``{{ program_name }}`` keeps working. A zone in a time column's header
(``Time (ET)``) says which clock the times are on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from outreach.suggest import closest
from outreach.zones import parse_zone

# The columns the tool reads, and the other headers (normalised) that mean each one. A synonym
# counts only when the sheet has no column of the name itself; the first synonym in the sheet wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("e_mail", "email_address", "e_mail_address", "mail", "email_id"),
    "first_name": ("first", "firstname", "given_name", "forename"),
    "last_name": ("last", "lastname", "surname", "family_name"),
    "full_name": ("fullname", "contact_name"),
    "institution": ("institution_name", "affiliation", "organization", "organisation", "institute"),
    "program": ("program_name", "programme", "programme_name", "residency_program"),
    "interviewer": ("interviewer_s", "interviewers", "interviewer_name", "interviewer_names", "interviewed_by"),
    "role": ("interviewer_role", "position", "job_title"),
    "interview_date": ("date", "interview_day", "date_of_interview"),
    "interview_time": ("time", "start_time", "interview_start", "interview_start_time", "time_of_interview"),
    "time_zone": ("timezone", "tz", "zone"),
    "policy": ("contact_policy", "thank_you_policy", "communication_policy", "post_interview_policy"),
}
_CANONICAL = {synonym: name for name, synonyms in SYNONYMS.items() for synonym in (name, *synonyms)}
# A header whose parentheses name a zone: "Time (ET)", "Start Time [America/Chicago]".
_ZONED = re.compile(r"(?P<base>.*?\S)\s*[(\[]\s*(?P<zone>[^()\[\]]+?)\s*[)\]]")
ZONED_COLUMNS = ("interview_time",)
# Names every sheet may have that the tool reads without a template asking for them.
READ_BY_THE_TOOL = frozenset(SYNONYMS) | {"name", "hospital", "university", "school", "department", "lab"}


def normalize_header(name: str) -> str:
    """``" First Name "`` -> ``first_name``: a header becomes a template variable name."""
    return re.sub(r"\W+", "_", name.strip().casefold()).strip("_")


@dataclass(frozen=True)
class Header:
    """A sheet's header row, resolved: each cell's column name, in order."""

    raw: tuple[str, ...]                   # as the sheet wrote them
    columns: tuple[str, ...]               # the name each cell is read under
    aliases: dict[str, str] = field(default_factory=dict)   # the sheet's own name -> the column it was read as
    zones: dict[str, str] = field(default_factory=dict)     # column -> the zone its header names

    @property
    def names(self) -> dict[str, str]:
        """Every name a row's cells are read under (aliases too) -> the header as written."""
        written = dict(zip(self.columns, self.raw, strict=True))
        return {**written, **{alias: written[column] for alias, column in self.aliases.items()}}


def read_header(raw: Iterable[str]) -> Header:
    """Resolve a header row once: synonyms to their column, zones out of time headers."""
    raw = tuple(raw)
    own = [normalize_header(cell) for cell in raw]
    bases: list[str] = []
    zones: dict[str, str] = {}
    for cell, name in zip(raw, own, strict=True):
        zoned = _ZONED.fullmatch(cell.strip())
        base = normalize_header(zoned["base"]) if zoned else name
        if zoned and _CANONICAL.get(base) in ZONED_COLUMNS and _is_zone(zoned["zone"]):
            bases.append(base)
            zones.setdefault(_CANONICAL[base], zoned["zone"])
        else:
            bases.append(name)
    present = set(own)
    columns: list[str] = []
    aliases: dict[str, str] = {}
    for name, base in zip(own, bases, strict=True):
        canonical = _CANONICAL.get(base)
        if canonical is None or canonical == name or canonical in present or canonical in columns:
            columns.append(name)
            continue
        columns.append(canonical)
        aliases[name] = canonical
    return Header(raw, tuple(columns), aliases, {c: z for c, z in zones.items() if c in columns})


def _is_zone(text: str) -> bool:
    try:
        parse_zone(text)
    except ValueError:
        return False
    return True


def unused_columns(header: Header, used: Iterable[str], known: Iterable[str] = READ_BY_THE_TOOL) -> list[str]:
    """A sentence for each column nobody reads whose name is close to one someone would:
    ``column 'Intrview Date' is not used; did you mean interview_date?``. ``used``: what the
    template reads; ``known``: what the tool reads. A column far from every known name is
    someone's own data and is not mentioned."""
    used = set(used)
    wanted = (used | set(known)) - set(header.columns) - set(header.aliases)
    read = used | set(known)
    found = []
    for raw, column in zip(header.raw, header.columns, strict=True):
        if not column or column in read or column in header.aliases.values():
            continue
        meant = closest(column, sorted(wanted))
        if meant is not None:
            found.append(f"column {raw.strip()!r} is not used; did you mean {meant}?")
    return found
