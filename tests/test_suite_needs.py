"""Issue 16 item 13: the README's test command (`bash scripts/test`) runs every test. A test
that needs a package brings it through the `test` extra or carries its own oracle; none skips
because something is not installed."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_skips_for_a_package_that_is_not_installed():
    skipping = [f"{path.relative_to(TESTS)}:{number}"
                for path in sorted(TESTS.rglob("*.py")) if path.name != Path(__file__).name
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if re.search(r"importorskip\(|is not installed; ", line)]
    assert skipping == []
