"""The floor under `outreach status`, bench/report.py's named baseline for it.

    python bench/status_floor.py STORE > /dev/null

Python and its sqlite3 module alone read what `status` reads, with the statements it runs: every
event with its message's row number, the follow-ups, the suppressions, each campaign's first
messages in line order from their own index. Then it writes one line for each contact (line,
address, state). No rule is asked, no setting read, no click, nothing formatted beyond that: what
`status` costs above this is the tool's own work (start-up, the rules, the table).
"""

import sqlite3
import sys

EVENTS = """SELECT m.id, lower(e.address), e.kind, COALESCE(e.occurred_at, e.recorded_at), e.strength, e.until,
                   e.detail
            FROM events e LEFT JOIN messages m USING (message_id) ORDER BY m.id"""
FOLLOW_UPS = """SELECT campaign, address, step, state, sent_at, error, id FROM messages WHERE step > 0
                ORDER BY campaign, address, step"""
FIRST_MESSAGES = """SELECT address, contact_line, state, sent_at, CASE WHEN state != 'sent' THEN error END, id, kind
                    FROM messages WHERE campaign = ? AND step = 0 ORDER BY contact_line, address"""


def main() -> None:
    db = sqlite3.connect(sys.argv[1])
    # read into lookups, as status reads them before its lines (and then reads them no further)
    lookups = ({row[0]: row for row in db.execute(EVENTS)}, {(row[0], row[1]): row for row in db.execute(FOLLOW_UPS)},
               dict(db.execute("SELECT address, reason FROM suppressions")))
    campaigns = [name for name, in db.execute("SELECT DISTINCT campaign FROM messages WHERE step = 0 ORDER BY 1")]
    for campaign in campaigns:
        sys.stdout.write("\n".join(f"{line} {address} {state}"
                                   for address, line, state, *_ in db.execute(FIRST_MESSAGES, (campaign,))) + "\n")
    del lookups


if __name__ == "__main__":
    main()
