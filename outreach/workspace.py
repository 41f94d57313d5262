"""The workspace: the folder a user works in, scaffolded by ``outreach init``.

The shipped templates and examples come from the ``outreach.data`` package, so an installed
outreach has them too.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path


def scaffold(directory: Path) -> tuple[list[Path], list[Path]]:
    """Copy the shipped templates, example CSVs and ``.env.example`` (as ``.env``) into
    ``directory``; files already there are kept. Returns (created, kept)."""
    data = resources.files("outreach.data")
    directory.mkdir(parents=True, exist_ok=True)
    created, kept = [], []
    plan = [(data / "templates" / name, directory / "templates" / name)
            for name in sorted(p.name for p in (data / "templates").iterdir() if p.is_file())]
    plan += [(data / "examples" / name, directory / name)
             for name in sorted(p.name for p in (data / "examples").iterdir() if p.is_file())]
    plan.append((data / "examples" / ".env.example", directory / ".env"))
    for source, target in plan:
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        created.append(target)
    return created, kept

