"""One round of errors, not five: every problem of every row in one pass, identical problems
told once with their rows, and the column or zone that was most likely meant."""

from __future__ import annotations

import json

from outreach.compose.findings import Findings
from tests.helpers import write

TEMPLATE = """Subject: Prospective IMG collaborator interested in {{ topic }} research
Attachments: cv/{{ cv_file }}

Dear Dr. {{ last_name }},

I read your work on {{ topic }}. {{ note }}

Best regards,
[[YOUR NAME]]
"""


def sheet(rows: int) -> str:
    lines = ["email,last_name,Research Topic,cv_file,note"]
    lines += [f"dr{n}@example.edu,Surname{n},stroke,CV.pdf,Your paper {n} on perfusion was a revelation."
              for n in range(rows)]
    return "\n".join(lines) + "\n"


def test_every_problem_of_every_row_in_one_pass_grouped(invoke, workspace):
    write(workspace / "templates" / "mentor.txt", TEMPLATE)
    text = sheet(29).replace("Surname7,stroke,CV.pdf,Your paper 7 on perfusion was a revelation.",
                             "Surname7,stroke,CV.pdf,")
    write(workspace / "mentors.csv", text)
    result = invoke("check", "templates/mentor.txt", "mentors.csv")
    assert result.exit_code == 2
    out = result.stdout
    assert out.count("mentors.csv, 29 rows: lines 2-30\n") == 1  # the variable, the attachment, the placeholder
    assert ("  error   column \"topic\": templates/mentor.txt, line 1: undefined variable 'topic'; "
            "the sheet has 'Research Topic' — did you mean research_topic?\n") in out
    assert "  error   column \"cv_file\": templates/mentor.txt, line 2: attachment 'cv/CV.pdf' not found" in out
    assert "  error   the message still carries a placeholder: [[YOUR NAME]]" in out
    # the one row with a problem of its own, under its line
    assert "mentors.csv, line 9  dr7@example.edu\n  warning column \"note\": the personal note is empty" in out
    assert out.count("undefined variable") == 1 and len(out.splitlines()) == 7
    data = json.loads(invoke("check", "templates/mentor.txt", "mentors.csv", "--json").stdout)
    assert len(data["rows"]) == 29 and len(data["rows"][7]["problems"]) == 4  # --json keeps every row's own list


def test_the_variable_hint_and_a_missing_attachment_without_stand_ins(invoke, workspace):
    write(workspace / "templates" / "t.txt", "Subject: {{ subject_line }}\nAttachments: {{ cv }}\n\nHello\n")
    write(workspace / "c.csv", "email,cv\na@example.edu,\n")
    out = invoke("check", "templates/t.txt", "c.csv").stdout
    assert "undefined variable 'subject_line'; the CSV has no such column" in out  # nothing close
    assert 'column "cv": templates/t.txt, line 2: is empty, but the Attachments line needs it' in out


def test_due_lists_every_bad_row_and_the_zone_meant(invoke, workspace, monkeypatch):
    monkeypatch.setenv("OUTREACH_NOW", "2026-12-01T15:00:00Z")
    write(workspace / "interviews.csv",
          "program,interviewer,email,interview_date,interview_time,time_zone\n"
          "Royal Thames,Dr. Hughes,e.hughes@example.uk,2026-12-08,14:00,London\n"
          "Lakeshore,Dr. Lopez,m.lopez@example.edu,2026-12-02,09:00,America/Chicago\n"
          "Northfield,Dr. Sorensen,i.s@example.org,31/31/2026,13:30,ET\n"
          "Eastbrook,Dr. Cote,a.cote@example.edu,,,MT\n")
    result = invoke("due", "interviews.csv")
    assert result.exit_code == 2
    out = result.output
    assert ("interviews.csv, line 2  e.hughes@example.uk\n  error   column \"time_zone\": 'London' is not a time "
            "zone: did you mean Europe/London?") in out
    assert "interviews.csv, line 4  i.s@example.org\n  error   column \"interview_date\": '31/31/2026'" in out
    assert "interviews.csv, line 5  a.cote@example.edu\n  error   column \"interview_date\": empty" in out
    assert "error: interviews.csv: 3 rows cannot be dated (listed above)" in out


def test_findings_are_bounded_and_stream():
    findings = Findings(limit=2)
    assert findings.add(2, "a", [("error", "email", "bad a"), ("warning", None, "same")]) == []
    assert findings.add(3, "b", [("warning", None, "same")]) == []
    flushed = findings.add(4, "c", [("error", "email", "bad c")])  # a third different problem: the two go out
    assert [(g.text, g.count, g.lines) for g in flushed] == [("same", 2, [2, 3]), ("bad a", 1, [2])]
    assert [(g.text, g.label) for g in findings.drain()] == [("bad c", "c")]
    many = Findings()
    for line in range(2, 40, 3):
        many.add(line, "x", [("error", None, "same")])
    assert many.drain()[0].rows() == "13 rows: lines 2, 5, 8, 11, 14 and 8 more"
