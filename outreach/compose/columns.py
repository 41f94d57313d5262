"""Column names: how a CSV header becomes a template variable, everywhere the tool reads one."""

from __future__ import annotations

import re


def normalize_header(name: str) -> str:
    """``" First Name "`` -> ``first_name``: a header becomes a template variable name."""
    return re.sub(r"\W+", "_", name.strip().casefold()).strip("_")
