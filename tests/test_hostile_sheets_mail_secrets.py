"""Hostile input, issue 9 items 8, 9, 11, 12, 13: contact sheets and mail written by strangers,
templates that try to exhaust the machine, and secrets that must never show. Every case goes
through the real CLI and asserts the exit code, the one-line message, and that nothing was
drafted, sent or lost."""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import HEADER, ROWS, contacts_csv, template_file, write


def drafted(workspace) -> list[str]:
    """Names of the .eml drafts in the workspace, and the store's rows (none when nothing ran)."""
    files = sorted(p.name for p in workspace.rglob("*.eml"))
    db = workspace / "outreach.db"
    if not db.exists():
        return files
    with sqlite3.connect(db) as conn:
        return files + [row[0] for row in conn.execute("SELECT address FROM messages")]


def one_error_line(result) -> str:
    """The single line of a refusal (CliRunner mixes stderr into output)."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# -- item 8: CSV mistakes are visible ------------------------------------------------------
UNCLOSED_QUOTE_SHEETS = {
    "never closed": f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n{ROWS[2]}\n',
    "closed rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                          f'{ROWS[2]}\nq@example.org,Q,R,S,T,"U"\n'),
    "closed cleanly rows later": (f'{HEADER}\n{ROWS[0]}\nm.okafor@example.edu,Musa,Okafor,JHU,MSK,"I enjoyed\n'
                                  f'{ROWS[2]}\nq@example.org,Q,R,S,T,U"\n'),
}


@pytest.mark.parametrize("command", ["check", "draft"])
@pytest.mark.parametrize("sheet", UNCLOSED_QUOTE_SHEETS.values(), ids=UNCLOSED_QUOTE_SHEETS.keys())
def test_an_unclosed_quote_is_an_error_naming_the_line_it_opened_on(invoke, workspace, command, sheet):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv", sheet)
    result = invoke(command, template, contacts)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "contacts.csv, line 3" in line and "a quote opened on line 3" in line
    assert drafted(workspace) == []


def test_a_quoted_multi_line_note_is_still_one_cell(invoke, workspace):
    template = template_file(workspace)
    contacts = write(workspace / "contacts.csv",
                     f'{HEADER}\na@example.edu,Ann,Lee,Yale,MSK,"First line, with a comma.\nSecond line."\n')
    result = invoke("preview", template, contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "First line, with a comma.\nSecond line." in result.output


def test_one_windows_1252_row_does_not_garble_the_utf8_rows(invoke, workspace):
    template = template_file(workspace, "Subject: Hola {{ first_name }}\n\nDear {{ first_name }} {{ last_name }},\n")
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\njose@example.edu,José,García,U,MSK,x\n".encode()
                         + "zoe@example.edu,Zoë,Ibáñez,U,MSK,y\n".encode("cp1252"))
    result = invoke("preview", template, contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "Dear José García," in result.output and "Ã" not in result.output
    assert "line 3 is not valid UTF-8" in result.output  # the note names the row it guessed
    result = invoke("preview", template, contacts, "--row", "2")
    assert "Dear Zoë Ibáñez," in result.output


def test_a_line_neither_utf8_nor_windows_1252_is_named(invoke, workspace):
    template = template_file(workspace)
    contacts = workspace / "contacts.csv"
    contacts.write_bytes(f"{HEADER}\n{ROWS[0]}\n".encode() + b"a@example.edu,\x81\x8d,B,C,D,E\n")
    result = invoke("draft", template, contacts)
    assert result.exit_code == 2
    assert "contacts.csv, line 3: is neither UTF-8 nor Windows-1252" in one_error_line(result)
    assert drafted(workspace) == []


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_excels_sep_line_names_the_delimiter(invoke, workspace, delimiter):
    # The note holds the other delimiters, so guessing from the header line alone would fail.
    header = HEADER.replace(",", delimiter)
    row = delimiter.join(["jchen@example.edu", "Jia", "Chen", "Stanford", "neuro", "Commas, semicolons; tabs\t!"
                          .replace(delimiter, " ")])
    contacts = write(workspace / "contacts.csv", f"sep={delimiter}\r\n{header}\r\n{row}\r\n")
    result = invoke("preview", template_file(workspace), contacts, "--row", "1")
    assert result.exit_code == 0, result.output
    assert "Dear Dr. Chen," in result.output


def test_addresses_that_differ_only_in_a_special_character_get_their_own_drafts(invoke, workspace):
    template = template_file(workspace)
    contacts = contacts_csv(workspace, rows=["o'brien@example.edu,Liam,OBrien,TCD,MSK,Your paper.",
                                             "o_brien@example.edu,Aoife,O Brien,UCD,MSK,Your talk.",
                                             "o%27brien@example.edu,Sean,Brien,UCC,MSK,Your poster."])
    result = invoke("draft", template, contacts, "--campaign", "fall")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in workspace.rglob("*.eml"))
    assert len(names) == 3, names
    texts = "".join(p.read_text() for p in workspace.rglob("*.eml"))
    assert all(name in texts for name in ("Dr. OBrien", "Dr. O Brien", "Dr. Brien"))
