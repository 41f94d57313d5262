"""Every OUTREACH_* name the code reads is in config.KNOWN, so none of them is ever warned about
as a typo (and a new setting cannot be added without the list)."""

import re
from pathlib import Path

from outreach.config import KNOWN

PACKAGE = Path(__file__).resolve().parent.parent / "outreach"
TYPO_EXAMPLES = {"smtp_prot"}  # config.unknown_settings's docstring
TEST_SWITCHES = {"model_examples", "model_shrink"}  # the model test's long run, in the README's developer notes


def names_in_code() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= {m.lower() for m in re.findall(r"\bOUTREACH_([A-Z][A-Z0-9_]*[A-Z0-9])\b", text)}
        names |= set(re.findall(r"""raw(?:\.get\(|\[)["']([a-z][a-z0-9_]*)["']""", text))
    return names - TYPO_EXAMPLES


def test_every_setting_the_code_reads_is_known():
    assert names_in_code() - KNOWN == set()


def test_the_readme_documents_exactly_the_known_settings():
    """A setting the README names is known (OUTREACH_SMTP_ALLOW_UNENCRYPTED was once warned about
    as a typo), and every known setting is in the README."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    documented = {m.lower() for m in re.findall(r"\bOUTREACH_([A-Z][A-Z0-9_]*[A-Z0-9])\b", readme)} - TYPO_EXAMPLES
    documented -= TEST_SWITCHES
    assert documented - KNOWN == set()
    assert KNOWN - documented == set()
