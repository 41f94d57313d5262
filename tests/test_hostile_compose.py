"""A contacts sheet written by an attacker: no cell may become a file, a header or a recipient.

Every case runs through the real CLI (`check`, `draft`, `send` against the suite's aiosmtpd
server, `draft --imap` against Dovecot) and asserts the exit code, the one-line message, and
that nothing was sent, drafted or recorded. Classes: attachment confinement, header injection
by encoded words, display names that read as addresses, spreadsheet formulas in CSV exports.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import os
import re
import sqlite3
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from outreach.compose.headers import round_trip_problem

TEMPLATE = """Subject: Research on {{ topic }}
To: {{ name }} <{{ email }}>
{attachments}

Dear {{ name }},

I read your work on {{ topic }}.
"""


def write_inputs(ws: Path, rows: list[dict], attachments: str = "", template: str = TEMPLATE) -> None:
    """templates/t.txt, cv/CV.pdf and c.csv (one row per dict) in the workspace."""
    (ws / "templates").mkdir(exist_ok=True)
    (ws / "cv").mkdir(exist_ok=True)
    (ws / "cv" / "CV.pdf").write_bytes(b"%PDF-1.4 my CV")
    header = f"Attachments: {attachments}\n" if attachments else ""
    (ws / "templates" / "t.txt").write_text(template.replace("{attachments}\n", header), encoding="utf-8")
    columns = ["email", "name", "topic", "cv_file"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"name": "Jia Chen", "topic": "stroke imaging", "cv_file": "CV.pdf", **row})
    (ws / "c.csv").write_text(buffer.getvalue(), encoding="utf-8")


def recorded(ws: Path) -> int:
    if not (ws / "outreach.db").exists():
        return 0
    with sqlite3.connect(ws / "outreach.db") as db:
        return db.execute("SELECT count(*) FROM messages").fetchone()[0]


def assert_refused_everywhere(ws, invoke, smtp_server, column: str, message: str) -> None:
    """check, draft and send all stop with exit 2 on line 2, naming ``column``; nothing leaves."""
    checked = invoke("check", "templates/t.txt", "c.csv")
    assert checked.exit_code == 2, checked.output
    assert "c.csv, line 2" in checked.output
    assert re.search(rf'error +column "{column}": .*{message}', checked.output), checked.output
    drafted = invoke("draft", "templates/t.txt", "c.csv", "--out", "drafts")
    assert drafted.exit_code == 2 and "nothing was drafted" in drafted.output
    assert not (ws / "drafts").exists() or not list((ws / "drafts").iterdir())
    sent = invoke("send", "templates/t.txt", "c.csv", "--yes")
    assert sent.exit_code == 2, sent.output
    assert re.search(message, sent.output)
    assert smtp_server.messages == [] and recorded(ws) == 0


# -- attachments ---------------------------------------------------------------------------
IN_CV = "../cv/{{ cv_file }}"


@pytest.mark.parametrize("attachments, cell, message", [
    (IN_CV, "CV.pdf, /proc/self/environ", "outside the workspace"),
    (IN_CV, "../../../../etc/passwd", "outside the workspace"),
    ("{{ cv_file }}", "/etc/passwd", "outside the workspace"),
    ("{{ cv_file }}", "~/.ssh/id_rsa", "is a hidden file"),   # a cell's ~ is not the home folder
    (IN_CV, "link.pdf", "outside the workspace"),             # a symlink in cv/ that points out
    (IN_CV, "sub", "is not a regular file"),
    (IN_CV, "fifo.pdf", "is not a regular file"),
    (IN_CV, "../.env", "is a hidden file"),                   # settings, perhaps the password
    (IN_CV, "backup.db", "is a database"),
    (IN_CV, "", "is empty, but the Attachments line needs it"),
    ("{{ cv_file }}", "", "is empty, but the Attachments line needs it"),
])
def test_an_attachment_from_a_cell_stays_in_the_workspace(campaign, invoke, smtp_server, attachments, cell, message):
    ws = campaign.ws
    write_inputs(ws, [{"email": "j.chen@example.edu", "cv_file": cell}], attachments=attachments)
    (ws / "cv" / "link.pdf").symlink_to("/etc/passwd")
    (ws / "cv" / "sub").mkdir()
    os.mkfifo(ws / "cv" / "fifo.pdf")
    with sqlite3.connect(ws / "cv" / "backup.db") as db:  # a copy of a tracking store, say
        db.execute("CREATE TABLE messages (address TEXT)")
    assert_refused_everywhere(ws, invoke, smtp_server, "cv_file", message)


def test_a_cell_may_name_a_file_in_the_workspace(campaign, invoke, smtp_server):
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu"}], attachments="../cv/{{ cv_file }}")
    assert invoke("send", "templates/t.txt", "c.csv", "--yes").exit_code == 0
    parts = [p.get_filename() for p in smtp_server.messages[0].message.iter_attachments()]
    assert parts == ["CV.pdf"]


def test_a_path_written_in_the_template_is_the_users_choice(campaign, invoke, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "CV.pdf").write_bytes(b"%PDF-1.4")
    monkeypatch.setenv("HOME", str(home))
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu"}], attachments="~/Documents/CV.pdf")
    result = invoke("check", "templates/t.txt", "c.csv")
    assert result.exit_code == 0, result.output


def test_attachment_sizes_are_read_not_stated():
    from outreach.compose.templates import readable_size

    environ = Path("/proc/self/environ")
    assert environ.stat().st_size == 0 and readable_size(environ, 10**6) > 0


# -- headers: an encoded word in a cell is literal text --------------------------------------
HOSTILE_WORD = "=?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?="


def decoded_to_name(raw: bytes) -> str:
    header = "".join(email.message_from_bytes(raw, policy=email.policy.compat32)["To"].splitlines())
    return str(make_header(decode_header(header.rsplit(" <", 1)[0])))


def assert_literal(raw: bytes, column: str, recipients_header: str = "j.chen@example.edu") -> None:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert "Bcc" not in parsed and b"\nbcc:" not in raw.split(b"\r\n\r\n")[0].lower()
    assert [a.addr_spec for a in parsed["To"].addresses] == [recipients_header]
    if column == "topic":
        assert parsed["Subject"] == f"Research on {HOSTILE_WORD}"
    else:
        assert decoded_to_name(raw) == HOSTILE_WORD
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))


@pytest.mark.parametrize("column", ["name", "topic"])
def test_an_encoded_word_in_a_cell_adds_no_header_on_the_wire(campaign, invoke, smtp_server, column):
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", column: HOSTILE_WORD}])
    assert invoke("check", "templates/t.txt", "c.csv").exit_code == 0
    assert invoke("draft", "templates/t.txt", "c.csv", "--out", "drafts").exit_code == 0
    assert_literal((campaign.ws / "drafts" / "t" / "j.chen@example.edu.eml").read_bytes(), column)
    assert invoke("send", "templates/t.txt", "c.csv", "--yes", "--campaign", "wire").exit_code == 0
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ["j.chen@example.edu"]
    assert_literal(sent.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), column)


def test_an_encoded_word_adds_no_header_to_the_imap_draft(mail_account, invoke):
    write_inputs(Path.cwd(), [{"email": "j.chen@example.edu", "name": HOSTILE_WORD}])
    assert invoke("draft", "templates/t.txt", "c.csv", "--imap").exit_code == 0
    [raw] = mail_account.messages("Drafts")
    assert_literal(raw, "name")


def test_a_long_non_ascii_subject_is_folded_into_short_encoded_words(campaign, invoke):
    topic = "imagerie de l'accident vasculaire cérébral " * 3
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", "topic": topic.strip()}])
    assert invoke("draft", "templates/t.txt", "c.csv", "--out", "drafts").exit_code == 0
    raw = (campaign.ws / "drafts" / "t" / "j.chen@example.edu.eml").read_bytes()
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert all(len(w) <= 75 for w in re.findall(rb"=\?utf-8\?[bq]\?[^?]*\?=", head))
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == f"Research on {topic.strip()}"


@pytest.mark.parametrize("column, header", [("name", "To"), ("topic", "Subject")])
def test_the_read_back_refuses_what_a_weaker_encoder_would_let_through(campaign, invoke, smtp_server,
                                                                      monkeypatch, column, header):
    """Without the tool's own encoding the cell's encoded word would be decoded into a Bcc line:
    the parse-back check is what stops it, naming the row, the column and the header."""
    monkeypatch.setattr("outreach.compose.headers.needs_encoding", lambda text: False)
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", column: HOSTILE_WORD}])
    assert_refused_everywhere(campaign.ws, invoke, smtp_server, column,
                              f"the {header} header would not read back as written")


@pytest.mark.parametrize("raw, changed", [
    (b"To: a <a@example.edu>\r\nSubject: Hi\r\nBcc: evil@attacker.example\r\n\r\n", "Bcc"),
    (b'To: "=?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?=" <a@example.edu>\r\nSubject: Hi\r\n\r\n', "To"),
    (b"To: a <a@example.edu>, evil@attacker.example\r\nSubject: Hi\r\n\r\n", "To"),
    (b"To: a <a@example.edu>\r\nSubject: Hi\r\nSubject: Hi\r\n\r\n", "Subject"),
    (b"To: a <a@example.edu>\r\nSubject: =?utf-8?q?Hi_there?=\r\n\r\n", "Subject"),
])
def test_a_header_that_does_not_read_back_is_named(raw, changed):
    assert round_trip_problem(raw, {"To": ["a@example.edu"], "Subject": "Hi"}) == changed


@pytest.mark.parametrize("value", [
    "Jia Chen <j.chen@example.edu>", '"Dr. Chen" <j.chen@example.edu>', "a@example.edu, X <b@example.org>",
    "Bob <evil@attacker.example>, X <j.chen@example.edu>", '"Chen, Jia" <j.chen@example.edu>',
    '"=?utf-8?q?X=0D=0ABcc=3A_evil=40attacker.example?=" <j.chen@example.edu>',
])
def test_the_fast_reading_of_plain_lists_agrees_with_the_parser(value):
    from outreach.compose.headers import read_back

    try:
        parsed = tuple(a.addr_spec for a in email.policy.default.header_factory("To", value).addresses)
    except ValueError:
        parsed = None
    assert read_back("To", value) == parsed


# -- a name is never an address --------------------------------------------------------------
@pytest.mark.parametrize("name", [
    "evil@attacker.example",
    "Bob <evil@attacker.example>, X",
    "Friends: evil@attacker.example, other@attacker.example;",
    "Bob <evil@attacker.example>",
])
def test_a_name_cell_never_adds_a_recipient(campaign, invoke, smtp_server, name):
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", "name": name}])
    assert_refused_everywhere(campaign.ws, invoke, smtp_server, "name", "a name is never an address")


@pytest.mark.parametrize("cells", [
    {"name": "Bob <evil@attacker.example>, X"},
    {"cv_file": "../../../../etc/passwd"},
])
def test_a_hostile_row_puts_nothing_in_the_imap_drafts(mail_account, invoke, cells):
    write_inputs(Path.cwd(), [{"email": "j.chen@example.edu", **cells}], attachments=IN_CV)
    result = invoke("draft", "templates/t.txt", "c.csv", "--imap")
    assert result.exit_code == 2 and "nothing was drafted" in result.output
    folders = [name for _, _, name in mail_account.client.list_folders()]
    assert "Drafts" not in folders or mail_account.messages("Drafts") == []
    assert recorded(Path.cwd()) == 0


def test_a_name_column_without_a_to_header_never_adds_a_recipient(campaign, invoke, smtp_server):
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", "name": "Bob <evil@attacker.example>, X"}],
                 template=TEMPLATE.replace("To: {{ name }} <{{ email }}>\n", ""))
    assert_refused_everywhere(campaign.ws, invoke, smtp_server, "name", "a name is never an address")


def test_a_name_with_a_comma_is_one_name(campaign, invoke, smtp_server):
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", "name": "Chen, Jia"}])
    assert invoke("send", "templates/t.txt", "c.csv", "--yes").exit_code == 0
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ["j.chen@example.edu"]
    assert [(a.display_name, a.addr_spec) for a in sent.message["To"].addresses] == [("Chen, Jia", "j.chen@example.edu")]


def test_check_names_every_recipient_beyond_the_contact(campaign, invoke, smtp_server):
    template = TEMPLATE.replace("To:", "Cc: {{ cv_file }}\nBcc: advisor@example.edu\nTo:")
    write_inputs(campaign.ws, [{"email": "j.chen@example.edu", "cv_file": "a@example.edu, b@example.edu"}],
                 template=template)
    result = invoke("check", "templates/t.txt", "c.csv")
    assert result.exit_code == 0
    assert ("note    goes to To j.chen@example.edu; Cc a@example.edu, b@example.edu; "
            "Bcc advisor@example.edu") in result.output
    assert invoke("send", "templates/t.txt", "c.csv", "--yes").exit_code == 0
    assert smtp_server.messages[0].rcpt_tos == ["j.chen@example.edu", "a@example.edu", "b@example.edu",
                                                "advisor@example.edu"]


# -- CSV exports -----------------------------------------------------------------------------
def test_report_csv_cells_never_run_as_formulas(workspace, invoke):
    from outreach.store import Store
    from tests.seed import add_message

    store = Store(workspace / "outreach.db")
    cells = ["=HYPERLINK(\"http://attacker.example\")", "+1+2", "@SUM(A1)", "\tx", "\rx", "-3", "plain"]
    for i, institution in enumerate(cells):
        add_message(store, "=cmd|' /C calc'!A0", f"c{i}@example.edu",
                    contact={"email": f"c{i}@example.edu", "institution": institution})
    store.close()
    result = invoke("report", "--by", "institution", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output, newline="")))
    groups = {row["group"] for row in rows}
    assert groups == {"'=HYPERLINK(\"http://attacker.example\")", "'+1+2", "'@SUM(A1)", "'\tx", "'\rx",
                      "-3", "plain", "all"}
    assert {row["campaign"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert all(not re.match(r"[=+@\t\r]", value) for row in rows for value in row.values())


def test_numbers_stay_numbers_in_csv_exports():
    from outreach.track.report import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in (-3, -0.25, "-3", "-1.5e3", "+4", 0)] == [-3, -0.25, "-3", "-1.5e3", "+4", 0]
    assert spreadsheet_safe("-x") == "'-x" and spreadsheet_safe("=1") == "'=1"
