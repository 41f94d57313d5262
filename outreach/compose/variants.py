"""A/B variants: which template each contact gets, balanced and reproducible.

:func:`assign` is pure. Contacts are put in the order of a stable hash of (campaign, address)
— unrelated to the CSV's order, so the sheet's sorting (by institution, by seniority) cannot
line up with a variant — and each takes the variant that has the fewest contacts so far.
Contacts already planned in the store keep their variant and count towards the balance, so
adding rows to the sheet later never moves anyone who was already drafted or sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from outreach.compose.batch import Rendered, interview_log, render_one
from outreach.compose.checks import Checker, RowIndex
from outreach.compose.contacts import ContactFile, Problem
from outreach.compose.interviews import Season
from outreach.compose.templates import Template
from outreach.errors import UserError


def _rank(campaign: str, key: str) -> bytes:
    return hashlib.sha256(f"{campaign}\0{key}".encode()).digest()


def assign(campaign: str, addresses: Iterable[str], variants: list[str],
           existing: dict[str, str] | None = None) -> dict[str, str]:
    """address (casefolded) -> variant, for every address in ``addresses``.

    ``existing`` maps addresses already planned in this campaign to their variant (any
    address, in the list or not); those whose variant is still offered keep it.
    """
    if not variants:
        raise ValueError("no variants")
    offered = set(variants)
    existing = {a.casefold(): v for a, v in (existing or {}).items() if v in offered}
    counts = dict.fromkeys(variants, 0)
    for variant in existing.values():
        counts[variant] += 1
    result: dict[str, str] = {}
    new = []
    for address in dict.fromkeys(a.casefold() for a in addresses):
        if address in existing:
            result[address] = existing[address]
        else:
            new.append(address)
    # Ties go to variants in a per-campaign order, so no template is always "first".
    order = sorted(variants, key=lambda v: _rank(campaign, "variant:" + v))
    for address in sorted(new, key=lambda a: _rank(campaign, a)):
        variant = min(order, key=counts.__getitem__)
        result[address] = variant
        counts[variant] += 1
    return result


def variant_name(template: Path) -> str:
    """The name a template's variant is recorded and reported under: its file name, no suffix."""
    return template.stem


def load_variants(paths: list[Path], *, test_domains: bool = False) -> dict[str, tuple[Path, Template]]:
    """variant name -> (path, template), refusing two templates with the same name."""
    result: dict[str, tuple[Path, Template]] = {}
    for path in paths:
        name = variant_name(path)
        if name in result:
            other = result[name][0]
            if other.resolve() == path.resolve():
                raise UserError(f"{path}: given twice; each variant is a different template")
            raise UserError(f"{other} and {path} are both called {name!r}; variants are told apart by file "
                            "name, so rename one")
        result[name] = (path, Template(path, test_domains=test_domains))
    return result


def variables_of(templates: dict[str, tuple[Path, Template]]) -> set[str]:
    """Every variable any of the templates reads."""
    return set().union(*(template.variables for _, template in templates.values()))


def render_variants(templates: dict[str, tuple[Path, Template]], contacts: ContactFile,
                    assignment: dict[str, str], season: Season | None = None,
                    commitments: dict | None = None, sender=None, *,
                    found: dict[int, list[Problem]] | None = None) -> Iterator[Rendered]:
    """Like :func:`outreach.compose.batch.render_rows`, each row with the template it was assigned.

    With ``found``, the sheet was checked already (by this function) and its rows are rendered
    again to be written, not checked again: each row carries the problems ``found`` holds for
    its line (those the caller still needs), none otherwise."""
    checkers: dict[str, Checker | None] = dict.fromkeys(templates)
    if found is None:
        index = RowIndex.build(contacts)
        shared = dict(commitments or {})   # one record of who was promised what, across the variants
        checkers = {name: Checker(template, index, shared, sender=sender) for name, (_, template) in templates.items()}
    logs = {name: interview_log(template, contacts, season) for name, (_, template) in templates.items()}
    first = next(iter(templates))
    for contact in contacts:
        name = assignment.get(contact.email.casefold(), first) if contact.email else first
        path, template = templates[name]
        item = render_one(template, checkers[name], contact, None, logs[name], template_name=str(path), variant=name)
        if found is not None:
            item.problems = found.get(contact.line, [])
        yield item


def addresses(contacts: ContactFile) -> list[str]:
    """The addresses that will get a message (rows with a valid, first-seen address)."""
    return [c.email for c in contacts if c.email and not c.skipped]
