"""Issue 16 item 12: the `.env` that `init` writes lists every setting the tool reads, once, and
nothing else: a setting missing there is one a user never hears of, a repeated block is noise."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from outreach.config import KNOWN

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / ".env.example"
SETTING_LINE = re.compile(r"^(?:# )?OUTREACH_([A-Z0-9_]+)=", re.M)


def test_env_example_lists_every_known_setting_once():
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    listed = Counter(name.lower() for name in SETTING_LINE.findall(text))
    assert sorted(name for name, count in listed.items() if count > 1) == []
    assert sorted(set(listed) - KNOWN) == []
    # OUTREACH_PASSWORD is named only to say it does not belong in the file
    assert sorted(KNOWN - set(listed)) == ["password"] and "Don't put OUTREACH_PASSWORD here" in text


def test_every_setting_in_the_env_init_writes_is_one_outreach_reads(invoke, tmp_path, monkeypatch):
    target = tmp_path / "demo"
    assert invoke("init", target, "--example").exit_code == 0
    env = target / ".env"
    env.write_text(re.sub(r"^# (OUTREACH_[A-Z0-9_]+=)", r"\1", env.read_text(), flags=re.M))   # every one set
    monkeypatch.chdir(target)
    result = invoke("check", "templates/mentor_outreach.txt", "mentors.csv")
    assert "OUTREACH_PROVIDER=gmail" in env.read_text()
    assert "is not a setting outreach knows" not in result.output, result.output
