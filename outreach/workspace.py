"""The workspace: the folder a user works in, scaffolded by ``outreach init``.

The shipped templates and examples come from the ``outreach.data`` package, so an installed
outreach has them too. They sign as the example applicant; the copies in a workspace sign as the
user (see :mod:`outreach.persona`).
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from outreach.persona import Persona, personalize


def scaffold(directory: Path, persona: Persona | None = None) -> tuple[list[Path], list[Path]]:
    """Copy the shipped templates, example CSVs and ``.env.example`` (as ``.env``) into
    ``directory``; files already there are kept. With ``persona``, the templates, ``.env`` and
    ``.env.example`` speak for that person instead of the example applicant. Returns (created, kept)."""
    data = resources.files("outreach.data")
    directory.mkdir(parents=True, exist_ok=True)
    created, kept = [], []
    plan = [(data / "templates" / name, directory / "templates" / name)
            for name in sorted(p.name for p in (data / "templates").iterdir() if p.is_file())]
    plan += [(data / "examples" / name, directory / name)
             for name in sorted(p.name for p in (data / "examples").iterdir() if p.is_file())]
    plan.append((data / "examples" / ".env.example", directory / ".env"))
    personal = {directory / ".env", directory / ".env.example",
                *(target for _, target in plan if target.parent.name == "templates")}
    for source, target in plan:
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if persona is not None and target in personal:
            target.write_text(personalize(source.read_text(encoding="utf-8"), persona), encoding="utf-8")
        else:
            with source.open("rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        created.append(target)
    return created, kept

