"""The headers spreadsheets really use: one table of synonyms per column, a zone in a time
column's header, and a misspelt column named once with the name it most likely meant."""

from __future__ import annotations

import json

from outreach.compose.columns import SYNONYMS, read_header
from tests.helpers import write

# The master spreadsheet of a season as an applicant keeps it: its own headers, times in ET.
MASTER = """Program Name,Interviewer(s),E-mail,Interview Date,Time (ET),Notes
Lakeshore,Dr. Maria Lopez,m.lopez@lakeshore.example.edu,2026-12-02,4:00 PM,the night rotation
Northfield,Dr. Ingrid Sorensen,i.sorensen@northfield.example.org,2026-12-01,9:00 AM,stroke imaging
"""
THANKS = """Kind: thank-you
Subject: Thank you for my interview at {{ program_name }}

Dear {{ interviewer }},

Thank you for speaking with me at {{ program }} about {{ notes }}.

Best regards,
Asha Rao
"""


def test_the_master_sheet_is_read_with_its_own_headers(invoke, workspace, monkeypatch):
    write(workspace / "interviews.csv", MASTER)
    # in Kolkata, 10.5 hours ahead of New York: a time read on the user's clock would be far off
    monkeypatch.setenv("OUTREACH_TIME_ZONE", "Asia/Kolkata")
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-02T12:00:00Z")
    result = invoke("due", "interviews.csv", "--json")
    assert result.exit_code == 0, result.output
    entries = {e["email"].split("@")[0]: e for e in json.loads(result.stdout)["entries"]}
    lopez = entries["m.lopez"]
    assert (lopez["program"], lopez["interviewer"]) == ("Lakeshore", "Dr. Maria Lopez")
    assert lopez["state"] == "upcoming" and lopez["interview_start"] == "2026-12-02T16:00:00-05:00"
    sorensen = entries["i.sorensen"]
    assert sorensen["state"] == "due" and sorensen["deadline"] == "2026-12-03T10:00:00-05:00"
    assert "interviewed Dec 1, 09:00 EST" in sorensen["detail"]


def test_a_template_may_use_the_sheets_own_names_or_the_tools(invoke, workspace, monkeypatch):
    write(workspace / "interviews.csv", MASTER)
    write(workspace / "templates" / "thanks.txt", THANKS)
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-04T12:00:00Z")
    result = invoke("preview", "templates/thanks.txt", "interviews.csv", "--line", "3")
    assert result.exit_code == 0, result.output
    assert "Subject: Thank you for my interview at Northfield" in result.output
    assert 'To: "Dr. Ingrid Sorensen" <i.sorensen@northfield.example.org>' in result.output
    assert "speaking with me at Northfield about stroke imaging." in result.output


def test_start_time_and_time_zone_headers(invoke, workspace, monkeypatch):
    write(workspace / "interviews.csv", "Program,Interviewer,Email,Date,Start Time,Timezone\n"
                                        "Lakeshore,Dr. Lopez,m.lopez@example.edu,2026-12-02,09:00,America/Chicago\n")
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-02T12:00:00Z")
    entry = json.loads(invoke("due", "interviews.csv", "--json").stdout)["entries"][0]
    assert entry["interview_start"] == "2026-12-02T09:00:00-06:00" and entry["interview_time_known"]


def test_a_misspelt_column_is_named_once_with_what_it_likely_meant(invoke, workspace):
    rows = "".join(f"P{n},Dr. X{n},x{n}@example.edu,2026-12-0{n},10:00\n" for n in range(1, 6))
    write(workspace / "interviews.csv", "program,interviewer,email,Intrview Date,interview_time\n" + rows)
    result = invoke("due", "interviews.csv")
    assert result.exit_code == 2  # there is no interview_date column
    assert result.output.count("column 'Intrview Date' is not used; did you mean interview_date?") == 1
    write(workspace / "templates" / "t.txt", "Subject: Hi\n\nDear {{ interviewer }}, {{ topic }}\n")
    write(workspace / "c.csv", "email,interviewer,Research Topc\na@example.edu,A,MRI\nb@example.edu,B,CT\n")
    checked = invoke("check", "templates/t.txt", "c.csv")
    assert checked.output.count("column 'Research Topc' is not used; did you mean topic?") == 1


def test_each_synonym_is_read_as_its_column():
    for column, synonyms in SYNONYMS.items():
        for synonym in synonyms:
            header = read_header([synonym.replace("_", " ").title(), "other"])
            assert header.columns == (column, "other"), synonym
    # the column itself wins over a synonym, and the first synonym over a second one
    assert read_header(["Time", "interview_time"]).columns == ("time", "interview_time")
    assert read_header(["Time", "Start Time"]).columns == ("interview_time", "start_time")
    # parentheses that name no zone are part of the name
    assert read_header(["Interviewer(s)", "Time (24h)"]).columns == ("interviewer", "time_24h")
    assert read_header(["Time (ET)"]).zones == {"interview_time": "ET"}
