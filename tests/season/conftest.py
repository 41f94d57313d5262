"""A workspace with the season's interview log, a thank-you template, and a fixed clock."""

import pytest

from tests.season import LOG, NOW, THANK_YOU


@pytest.fixture
def log(workspace, monkeypatch):
    """``[template, log]`` as command arguments, at NOW in New York."""
    (workspace / "templates").mkdir(exist_ok=True)
    (workspace / "templates" / "thank_you.txt").write_text(THANK_YOU, encoding="utf-8")
    (workspace / "interviews.csv").write_text(LOG, encoding="utf-8")
    monkeypatch.setenv("OUTREACH_NOW", NOW)
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "America/New_York")
    return ["templates/thank_you.txt", "interviews.csv"]
