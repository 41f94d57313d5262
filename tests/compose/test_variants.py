"""A/B variants: balanced, reproducible, stable; `draft --variant` records them."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.variants import assign
from outreach.store import Store

ADDRESSES = [f"person{i}@example.edu" for i in range(30)]


def test_balanced_and_reproducible():
    first = assign("fall", ADDRESSES, ["a", "b", "c"])
    assert Counter(first.values()) == {"a": 10, "b": 10, "c": 10}
    assert assign("fall", list(reversed(ADDRESSES)), ["a", "b", "c"]) == first  # the sheet's order is irrelevant
    assert assign("fall", [a.upper() for a in ADDRESSES], ["a", "b", "c"]) == first  # so is case


def test_the_split_does_not_follow_the_sheet_order():
    result = assign("fall", ADDRESSES, ["a", "b"])
    first_half = Counter(result[a] for a in ADDRESSES[:15])
    assert first_half["a"] not in (0, 15)  # not "the first 15 rows get a"
    assert assign("spring", ADDRESSES, ["a", "b"]) != result  # another campaign, another draw


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=5))
def test_counts_never_differ_by_more_than_one(count, variants):
    names = [f"v{i}" for i in range(variants)]
    counts = Counter(assign("c", [f"x{i}@example.edu" for i in range(count)], names).values())
    values = [counts.get(n, 0) for n in names]
    assert max(values) - min(values) <= 1


def test_rows_added_later_keep_everyone_in_place_and_rebalance():
    before = assign("fall", ADDRESSES[:20], ["a", "b"])
    after = assign("fall", ADDRESSES, ["a", "b"], existing=before)
    assert {a: after[a] for a in before} == before
    assert Counter(after.values()) == {"a": 15, "b": 15}
    # An unbalanced past (someone drafted with a alone) is evened out by the newcomers.
    lopsided = {a: "a" for a in ADDRESSES[:10]}
    result = assign("fall", ADDRESSES[:20], ["a", "b"], existing=lopsided)
    assert Counter(result.values()) == {"a": 10, "b": 10}
    # A variant no longer offered is not kept.
    assert set(assign("fall", ADDRESSES[:4], ["b"], existing=lopsided).values()) == {"b"}


def write_inputs(workspace, rows=12):
    (workspace / "templates").mkdir()
    (workspace / "templates" / "short.txt").write_text(
        "Subject: Collaboration on {{ topic }}\n\nDear Dr. {{ last_name }},\n\nShort note on {{ topic }}.\n")
    (workspace / "templates" / "long.txt").write_text(
        "Subject: Prospective IMG collaborator: {{ topic }}\n\nDear Dr. {{ last_name }},\n\nA longer note.\n")
    lines = ["email,last_name,topic"] + [f"p{i}@example.edu,Name{i},neuro" for i in range(rows)]
    (workspace / "c.csv").write_text("\n".join(lines) + "\n")


def test_draft_with_variants_records_each(workspace, invoke):
    write_inputs(workspace)
    result = invoke("draft", "templates/short.txt", "c.csv", "--variant", "templates/long.txt", "--campaign", "ab")
    assert result.exit_code == 0, result.output
    assert "variants: short 6, long 6" in result.output
    store = Store(workspace / "outreach.db")
    rows = list(store.messages("ab"))
    assert Counter(r.variant for r in rows) == {"short": 6, "long": 6}
    for row in rows:
        assert row.template == f"templates/{row.variant}.txt"
        expected = "Collaboration on neuro" if row.variant == "short" else "Prospective IMG collaborator: neuro"
        assert row.subject == expected
    assignment = {r.address: r.variant for r in rows}
    # More rows later: nobody moves, and the newcomers even out the split.
    write_inputs_more = workspace / "c.csv"
    write_inputs_more.write_text(write_inputs_more.read_text() + "p12@example.edu,Name12,neuro\n"
                                 "p13@example.edu,Name13,neuro\n")
    result = invoke("draft", "templates/short.txt", "c.csv", "--variant", "templates/long.txt", "--campaign", "ab")
    assert result.exit_code == 0, result.output
    rows = {r.address: r.variant for r in store.messages("ab")}
    assert {a: rows[a] for a in assignment} == assignment
    assert Counter(rows.values()) == {"short": 7, "long": 7}


def test_single_template_records_its_name_as_variant(workspace, invoke):
    write_inputs(workspace, rows=2)
    assert invoke("draft", "templates/short.txt", "c.csv").exit_code == 0
    assert {r.variant for r in Store(workspace / "outreach.db").messages()} == {"short"}


def test_two_templates_with_one_name_are_refused(workspace, invoke):
    write_inputs(workspace, rows=2)
    (workspace / "other").mkdir()
    (workspace / "other" / "short.txt").write_text("Subject: x\n\nbody\n")
    result = invoke("draft", "templates/short.txt", "c.csv", "--variant", "other/short.txt")
    assert result.exit_code == 2
    assert "are both called 'short'" in result.output
    assert not (workspace / "drafts").exists()


def test_an_error_in_any_variant_stops_everything(workspace, invoke):
    write_inputs(workspace, rows=4)
    (workspace / "templates" / "long.txt").write_text("Subject: {{ nope }}\n\nbody\n")
    result = invoke("draft", "templates/short.txt", "c.csv", "--variant", "templates/long.txt")
    assert result.exit_code == 2
    assert "undefined variable 'nope'" in result.output
    assert not (workspace / "drafts").exists()


def test_send_with_variants_records_and_sends_each(campaign, invoke, smtp_server, workspace):
    campaign.write_contacts(8)
    (workspace / "templates" / "short.txt").write_text("Subject: Short note on {{ topic }}\n\nDear Dr. {{ last_name }},\n"
                                                       "\nShort.\n", encoding="utf-8")
    result = invoke(*campaign.args("--yes", "--variant", "templates/short.txt"))
    assert result.exit_code == 0, result.output
    rows = {r.address: r for r in Store(workspace / "outreach.db").messages()}
    assert Counter(r.variant for r in rows.values()) == {"outreach": 4, "short": 4}
    for received in smtp_server.messages:
        row = rows[received.message["To"].addresses[0].addr_spec.casefold()]
        assert received.message["Subject"].startswith("Short note" if row.variant == "short" else "Research collab")
        assert row.template == f"templates/{row.variant}.txt"


def test_send_skips_an_address_with_an_opt_out_event(campaign, invoke, smtp_server, workspace):
    store = Store(workspace / "outreach.db")
    store.add_event(message_id=None, address="dr1@example.edu", kind="opted-out", source="elsewhere", strength="manual")
    store.close()
    result = invoke(*campaign.args("--yes"))
    assert result.exit_code == 0, result.output
    assert sorted(m.message["To"].addresses[0].addr_spec for m in smtp_server.messages) == ["dr0@example.edu",
                                                                                           "dr2@example.edu"]
