"""Small builders shared by the tests: files written the way users' tools write them."""

from __future__ import annotations

import mailbox
from collections.abc import Iterable
from pathlib import Path

MENTOR_TEMPLATE = """\
Subject: Prospective IMG collaborator interested in {{ topic }} radiology research

Dear Dr. {{ last_name }},

I read your work on {{ topic }} at {{ institution }}. {{ note }}

Best regards,
Asha Rao
"""

HEADER = "email,first_name,last_name,institution,topic,note"
ROWS = [
    "jchen@example.edu,Jia,Chen,Stanford University,neuroradiology,Your stroke triage paper changed how I read CTs.",
    "m.okafor@example.edu,Musa,Okafor,Johns Hopkins,MSK,I enjoyed your RSNA talk on cartilage mapping.",
    "p.shah@example.org,Priya,Shah,Mayo Clinic,breast imaging,Your tomosynthesis cohort is the one I cite most.",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def contacts_csv(directory: Path, rows=ROWS, header=HEADER, name="contacts.csv", encoding="utf-8") -> Path:
    return write(directory / name, "\n".join([header, *rows]) + "\n", encoding)


def template_file(directory: Path, text: str = MENTOR_TEMPLATE, name="mentor.txt") -> Path:
    return write(directory / "templates" / name, text)


def write_mbox(path: Path, messages: Iterable[bytes]) -> Path:
    """An mbox file holding ``messages``, as a mail client exports one."""
    box = mailbox.mbox(path, create=True)
    try:
        for raw in messages:
            box.add(raw)
    finally:
        box.close()
    return path
