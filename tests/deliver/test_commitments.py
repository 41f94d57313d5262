"""A ranking commitment to one program, drafted or sent, makes the same to another program an error,
in `check`, `draft` and `send`, through the store (real CLI, real SMTP server)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

THANKS = "Subject: Thank you\n\nDear Dr. {{ last_name }},\n\n{{ note }}\n\nAsha Rao\n"
HEADER = "email,first_name,last_name,program,note"


def write(ws, name: str, rows: list[str]) -> str:
    (ws / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return name


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def test_a_draft_to_one_program_makes_the_same_promise_to_another_an_error(workspace, invoke):
    (workspace / "thanks.txt").write_text(THANKS, encoding="utf-8")
    first = write(workspace, "mercy.csv", ['a@mercy.example.org,Ann,Lee,Mercy IM,"You are my top choice, truly."'])
    assert invoke("draft", "thanks.txt", first, "--campaign", "mercy").exit_code == 1  # a warning: the language
    again = invoke("draft", "thanks.txt", first, "--campaign", "mercy")                 # the same program: fine
    assert again.exit_code == 1 and "already told" not in again.output

    second = write(workspace, "lakeside.csv",
                   ['b@lakeside.example.org,Bo,Kim,Lakeside Surgery,"Your program is first on my list."'])
    checked = invoke("check", "thanks.txt", second)
    assert checked.exit_code == 2
    assert (f"says 'Your program is first on my list' to Lakeside Surgery, but Mercy IM was already told "
            f"'You are my top choice, truly' (drafted on {today()})") in checked.output
    drafted = invoke("draft", "thanks.txt", second, "--campaign", "lakeside")
    assert drafted.exit_code == 2 and "nothing was drafted" in drafted.output
    with sqlite3.connect(workspace / "outreach.db") as db:
        assert [r[0] for r in db.execute("SELECT campaign FROM messages")] == ["mercy"]


def test_a_sent_promise_blocks_a_send_to_another_program(campaign, invoke, smtp_server):
    (campaign.ws / campaign.template).write_text(THANKS, encoding="utf-8")
    write(campaign.ws, str(campaign.contacts), ['a@mercy.example.org,Ann,Lee,Mercy IM,"I will rank you highly."'])
    assert "Sent 1 of 1" in invoke(*campaign.args("--yes")).output
    write(campaign.ws, "more.csv", ['b@lakeside.example.org,Bo,Kim,Lakeside Surgery,"You are my number one."'])
    blocked = invoke("send", str(campaign.template), "more.csv", "--yes", "--campaign", "second")
    assert blocked.exit_code == 2 and len(smtp_server.messages) == 1
    assert f"Mercy IM was already told 'I will rank you highly' (sent on {today()})" in blocked.output
