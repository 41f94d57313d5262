"""Names and institutions as keys: one person's name is written many ways across papers.

``Müller``, ``Muller`` and ``MÜLLER`` are one surname; ``J Michael`` and ``J M`` one first
initial; the institution is the part of a free-text affiliation that names the place
("Department of Radiology, Northwestern University, Chicago, IL, USA." -> Northwestern
University), which is what two papers of one person most often share.
"""

from __future__ import annotations

import re
import unicodedata

# Words that mark the segment of an affiliation naming the institution, the more telling first:
# a university over its hospital, a hospital over one of its institutes or centres.
INSTITUTION_WORDS = ("universit", "hospital", "institut", "college", "school", "clinic", "centre", "center",
                     "foundation", "laborator", "ministry", "agency", "council")
# A segment that names a unit inside the institution, not the institution.
UNIT_STARTS = ("department", "dept", "division", "section", "unit", "laboratory of", "lab of", "program",
               "programme", "service", "graduate program")
_EMAIL_TEXT = re.compile(r"(?:electronic address:?|e-?mail:?)?\s*\S+@\S+", re.IGNORECASE)


def folded(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces, spaces squashed: ``Nguyễn-Van`` -> ``nguyen van``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).replace("_", " ").split())


def name_key(last: str, fore: str) -> str:
    """Surname and first initial: how one person's name stays the same from paper to paper."""
    first = folded(fore)[:1]
    return f"{folded(last).replace(' ', '')}|{first}"


def institution_of(affiliation: str) -> str:
    """The institution an affiliation names, as written; "" when it names none."""
    text = _EMAIL_TEXT.sub("", affiliation).strip().rstrip(".")
    segments = [s.strip(" .;") for s in re.split(r"[,;]", text)]
    segments = [re.sub(r"^(?:and|from)\s+(?:the\s+)?", "", s, flags=re.IGNORECASE) for s in segments if s]
    places = [s for s in segments if s and not folded(s).startswith(UNIT_STARTS)]
    for word in INSTITUTION_WORDS:
        for segment in places:
            if word in folded(segment):
                return segment
    return places[0] if places else (segments[0] if segments else "")
