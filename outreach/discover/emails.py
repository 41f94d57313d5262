"""Addresses written in a record, and whose they are: taken, never guessed.

Since about 2014 many PubMed records end an author's affiliation with an address ("... Japan.
Electronic address: t-koba@example.jp."), and a PMC article names its corresponding author's.
Only text that email-validator accepts as a whole address is taken: ``name[at]uni.edu``,
``@lab_handle``, ``j.doe@uni`` and non-ASCII mailbox names are not addresses and are left out.
When one address sits in several authors' affiliations, it is given to the one whose surname is
in it, and to nobody when that is not exactly one author.
"""

from __future__ import annotations

import re

from outreach.addresses import AddressValidator, InvalidAddress
from outreach.discover.names import folded

# A run of characters an address may hold around one @; what follows is cut at the first
# character no address ends with. Brackets, quotes, commas and spaces end it.
_CANDIDATE = re.compile(r"[^\s<>()\[\]{},;:\"'@]+@[^\s<>()\[\]{},;:\"'@]+")
_VALIDATE = AddressValidator()


def addresses_in(text: str) -> list[str]:
    """The addresses in a piece of free text, each as its identity, in order and once."""
    found: list[str] = []
    for match in _CANDIDATE.finditer(text.replace("mailto:", " ")):
        if text[match.end():match.end() + 1] == "@":  # a@b@c: not one address
            continue
        candidate = match.group(0).rstrip(".-_")
        try:
            address = _VALIDATE(candidate)
        except InvalidAddress:
            continue
        if address not in found:
            found.append(address)
    return found


def names_match(address: str, last: str) -> bool:
    """Whether the surname is written in the mailbox name (``t-kobayashi@``, ``ws.choi@``)."""
    local = folded(address.partition("@")[0]).replace(" ", "")
    surname = folded(last).replace(" ", "")
    if len(surname) >= 4:
        return surname in local
    return bool(surname) and surname in folded(address.partition("@")[0]).split()


def owners(candidates: dict[int, list[str]], surnames: dict[int, str]) -> dict[int, str]:
    """author position -> the one address that is theirs, from the addresses found in each
    author's affiliations on one paper (``candidates``) and the authors' surnames.

    An address in one author's affiliations only is theirs, unless that author has several
    and their name is in none of them. An address in several authors' affiliations (a shared
    affiliation text) is given to the one whose surname it holds, or to nobody."""
    holders: dict[str, list[int]] = {}
    for position, addresses in candidates.items():
        for address in addresses:
            holders.setdefault(address, []).append(position)
    owned: dict[int, list[str]] = {}
    for address, positions in holders.items():
        named = positions if len(positions) == 1 else [p for p in positions
                                                      if names_match(address, surnames.get(p, ""))]
        if len(named) == 1:
            owned.setdefault(named[0], []).append(address)
    result = {}
    for position, addresses in owned.items():
        theirs = [a for a in addresses if names_match(a, surnames.get(position, ""))]
        if len(theirs) == 1 or (not theirs and len(addresses) == 1):
            result[position] = theirs[0] if theirs else addresses[0]
    return result
