"""`draft` records a transaction's rows with one `Messages.record_all`; here random batches over
rows in every state are recorded at once, and one message at a time by the statements `record`
made before (an INSERT that does nothing on a conflict, then an UPDATE of a row in a state the
move starts from): the answers and the rows left must be the same."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.store import Outgoing, Store
from outreach.store.connection import utcnow
from outreach.store.states import MOVES, STATES

ADDRESSES = ["a@example.edu", "B@Example.edu", "c@example.edu"]
KEYS = [(campaign, address, step) for campaign in ("fall", "spring") for address in ADDRESSES for step in (0, 1)]
COMPARED = "campaign, address, step, message_id, template, subject, recipients, contact, state, draft_path, error"

existing = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(STATES), max_size=6)
messages = st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(["one", "two"]), st.none() | st.just("d/x.eml")),
                    max_size=8)


def outgoing(number: int, key: tuple[str, str, int], subject: str, draft_path: str | None) -> Outgoing:
    campaign, address, step = key
    return Outgoing(campaign=campaign, address=address, message_id=f"<{number}.{campaign}@example.org>",
                    template="t.txt", subject=subject, recipients=[address], contact={"email": address},
                    contact_line=number + 2, transport="eml", step=step, draft_path=draft_path)


def record_one(store: Store, move: str, message: Outgoing) -> bool:
    """A message's row written as `Messages.record` wrote it, a statement or two each (its UPDATE
    found the row by the address as given, which every caller gives as its identity: here the
    identity, as the INSERT stores it)."""
    rule = MOVES[move]
    now = utcnow()
    content = message.columns()
    refreshed = {**content, "state": rule.target, "error": None, "updated_at": now}
    del refreshed["message_id"], refreshed["draft_path"]
    sources = [state for state in rule.sources if state is not None]
    sets = ", ".join(f"{column}=?" for column in refreshed) + ", draft_path=COALESCE(?, draft_path)"
    where = f"campaign=? AND address=? AND step=? AND state IN ({','.join('?' * len(sources))})"
    if None in rule.sources:
        row = {**content, "state": rule.target, "created_at": now, "updated_at": now}
        cursor = store.db.execute(f"INSERT INTO messages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
                                  "ON CONFLICT (campaign, address, step) DO NOTHING", tuple(row.values()))
        if cursor.rowcount == 1:
            return True
    cursor = store.db.execute(f"UPDATE messages SET {sets} WHERE {where}",
                              (*refreshed.values(), message.draft_path, message.campaign, content["address"],
                               message.step, *sources))
    return cursor.rowcount == 1


def store_with(folder: str, name: str, rows: dict[tuple[str, str, int], str]) -> Store:
    store = Store(Path(folder) / name)
    with store.transaction():
        for number, (key, state) in enumerate(rows.items()):
            campaign, address, step = key
            store.db.execute("INSERT INTO messages (campaign, address, step, message_id, template, subject, recipients, "
                             "contact, state, draft_path, error, created_at, updated_at) "
                             "VALUES (?, lower(?), ?, ?, 't', 'old', '[]', '{}', ?, 'old.eml', 'e', 'then', 'then')",
                             (campaign, address, step, f"<old{number}@example.org>", state))
    return store


@settings(max_examples=80, deadline=None)
@given(existing, messages, st.sampled_from(["draft", "queue", "retry", "resend"]))
def test_a_batch_records_what_one_at_a_time_records(rows, batch, move):
    assert MOVES[move].target in ("drafted", "queued")
    items = [outgoing(number, key, subject, path) for number, (key, subject, path) in enumerate(batch)]
    with tempfile.TemporaryDirectory() as folder:
        together, alone = store_with(folder, "together.db", rows), store_with(folder, "alone.db", rows)
        with together.transaction():
            answers = together.record_all(move, items)
        with alone.transaction():
            expected = [record_one(alone, move, item) for item in items]
        assert answers == expected
        query = f"SELECT {COMPARED} FROM messages ORDER BY campaign, address, step"
        assert together.db.execute(query).fetchall() == alone.db.execute(query).fetchall()
        together.close()
        alone.close()


cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(['"', "\\", "é\n\t", ""])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(cells, cells, max_size=6), st.lists(cells, max_size=3), st.sampled_from([None, 3, 1.5, ["x"]]))
def test_a_rows_json_is_what_the_json_module_writes(contact, keys, odd):
    import json

    from outreach.store.messages import json_of_cells, json_of_keys

    assert json_of_cells(contact) == json.dumps(contact, ensure_ascii=False)
    assert json_of_keys(keys) == json.dumps(keys)
    for other in ({**contact, "x": odd}, {**contact, 3: "x"}):  # not strings: the json module writes them
        assert json_of_cells(other) == json.dumps(other, ensure_ascii=False)  # type: ignore[arg-type]
    assert json_of_keys([*keys, odd]) == json.dumps([*keys, odd])  # type: ignore[list-item]
