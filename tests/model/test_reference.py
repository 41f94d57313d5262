"""The reference model's own checks, on hand-made observations: each promise catches what it must
and lets pass what it must (a harness that can never fail proves nothing)."""

from __future__ import annotations

import pytest

from tests.model.reference import (
    ANSWERED,
    BOUNCED,
    AfterStop,
    Delivery,
    DraftCopy,
    DraftLeft,
    FactLost,
    Ledger,
    Model,
    Person,
    Row,
    StoreView,
    Twice,
    TwoIdentities,
    UnknownDraft,
    campaign_step,
    never_twice,
    no_draft_of_a_sent_message,
    nothing_after_stop,
    one_identity,
    wire_form,
)


def model() -> Model:
    return Model([Person(0, ("dr0@example.edu", "DR0@ＥＸＡＭＰＬＥ.edu")),  # noqa: RUF001
                  Person(1, ("dr1@xn--bcher-kva.example", "dr1@bu\u0308cher.example"))])


def delivery(position: int, person: int, campaign: str = "alpha", step: int = 0, mid: str | None = None) -> Delivery:
    return Delivery(position, f"dr{person}@example.edu", person, campaign, step, mid or f"<{position}@x>")


def test_one_person_whatever_the_spelling():
    full_width = "dr1@ｘｎ--ｂｃｈｅｒ-ｋｖａ.example"  # noqa: RUF001
    assert {wire_form(s) for s in ("DR1@XN--BCHER-KVA.EXAMPLE", "dr1@bücher.example", "dr1@bu\u0308cher.example",
                                   full_width)} == {"dr1@xn--bcher-kva.example"}
    assert model().person_of("DR0@example.EDU") == 0 and model().person_of("dr2@example.edu") is None


def test_subjects_name_the_campaign_and_the_step():
    assert campaign_step("Re: Re: A second question about stroke imaging") == ("beta", 2)
    assert campaign_step("Research collaboration on stroke imaging") == ("alpha", 0)
    assert campaign_step("Lunch?") == (None, 0)


def test_twice_by_message_id_and_by_message():
    never_twice([delivery(0, 0), delivery(1, 0, step=1), delivery(2, 1)])
    with pytest.raises(Twice):
        never_twice([delivery(0, 0, mid="<a@x>"), delivery(1, 1, mid="<a@x>")])
    with pytest.raises(Twice):
        never_twice([delivery(0, 0), delivery(1, 0)])


def test_after_a_known_answer_only_an_explicit_inclusion_goes():
    m = model()
    m.begin("reply arrives")
    m.arrives(0, ANSWERED)
    m.begin("send", "alpha")                     # does not read the mailbox in this hand-made run
    m.note_arrivals(1)
    nothing_after_stop(m, [delivery(0, 0)])      # not known yet: fine
    m.begin("sync", reads_mailbox=True)
    m.begin("send", "beta", include_answered=True, reads_mailbox=True)
    m.note_arrivals(2)
    nothing_after_stop(m, [delivery(0, 0), delivery(1, 0, "beta")])  # explicitly included
    m.begin("followup", "beta", reads_mailbox=True)
    m.note_arrivals(3)
    with pytest.raises(AfterStop, match="read by sync at step 3"):
        nothing_after_stop(m, [delivery(0, 0), delivery(1, 0, "beta"), delivery(2, 0, "beta", step=1)])


def test_a_bounce_is_never_included():
    m = model()
    m.begin("mark")
    m.know(1, BOUNCED)
    m.begin("send", "beta", include_answered=True, reads_mailbox=True)
    m.note_arrivals(1)
    with pytest.raises(AfterStop):
        nothing_after_stop(m, [delivery(0, 1, "beta")])


def test_drafts_of_sent_messages_and_unknown_drafts():
    m = model()
    store = StoreView({"<d@x>": Row("alpha", "dr0@example.edu", 0, "drafted"),
                       "<u@x>": Row("beta", "dr0@example.edu", 0, "uncertain")})
    draft = DraftCopy("drafts/alpha/dr0@example.edu.eml", "<d@x>", "dr0@example.edu",
                      "Research collaboration on stroke imaging")
    waiting = DraftCopy("Drafts #1", "<u@x>", "dr0@example.edu", "A second question about stroke imaging")
    m.note_arrivals(1)
    no_draft_of_a_sent_message(m, [draft, waiting], [delivery(0, 0, "beta", mid="<u@x>")], store)
    with pytest.raises(DraftLeft, match="already"):     # the same message went under another Message-ID
        no_draft_of_a_sent_message(m, [draft], [delivery(0, 0, mid="<other@x>")], store)
    with pytest.raises(UnknownDraft):
        no_draft_of_a_sent_message(m, [DraftCopy("Drafts #2", "<?@x>", "dr0@example.edu", "Re: x")], [], store)


def test_what_was_recorded_stays_recorded():
    ledger = Ledger()
    sent = StoreView({"<s@x>": Row("alpha", "dr0@example.edu", 0, "sent"),
                      "<u@x>": Row("alpha", "dr1@example.edu", 0, "uncertain")}, {"mark:alpha:dr0"}, {"dr1"})
    ledger.check(sent, [delivery(0, 0, mid="<s@x>")])
    with pytest.raises(FactLost, match="recorded sent"):
        ledger.check(StoreView({**sent.rows, "<s@x>": Row("alpha", "dr0@example.edu", 0, "queued")},
                               sent.events, sent.suppressed), [])
    with pytest.raises(FactLost, match="events"):
        ledger.check(StoreView(sent.rows, set(), sent.suppressed), [])
    ledger.settled_unsent("<u@x>")                      # the user checked: it did not leave
    ledger.check(StoreView({**sent.rows, "<u@x>": Row("alpha", "dr1@example.edu", 0, "queued")},
                           sent.events, sent.suppressed), [delivery(0, 0, mid="<s@x>")])


def test_a_killed_run_owes_its_drafts_until_the_next_command_settles():
    m = model()
    store = StoreView({"<s@x>": Row("alpha", "dr0@example.edu", 0, "sent")})
    draft = DraftCopy("drafts/alpha/dr0@example.edu.eml", "<s@x>", "dr0@example.edu",
                      "Research collaboration on stroke imaging")
    m.begin("send", "alpha", reads_mailbox=True)
    m.note_arrivals(1)
    m.killed()                                          # between the server's 250 and removing the draft
    no_draft_of_a_sent_message(m, [draft], [delivery(0, 0, mid="<s@x>")], store)
    m.begin("sync", reads_mailbox=True)                 # takes no outbox lock: still owed
    no_draft_of_a_sent_message(m, [draft], [delivery(0, 0, mid="<s@x>")], store)
    m.begin("draft", "beta")
    m.settled()                                         # a command took the lock and finished
    with pytest.raises(DraftLeft, match="it was sent"):
        no_draft_of_a_sent_message(m, [draft], [delivery(0, 0, mid="<s@x>")], store)


def test_a_message_a_mailbox_read_found_sent_owes_its_draft_until_the_next_command():
    m = model()
    store = StoreView({"<u@x>": Row("alpha", "dr0@example.edu", 0, "sent")})   # was uncertain
    draft = DraftCopy("Drafts #1", "<u@x>", "dr0@example.edu", "Research collaboration on stroke imaging")
    m.begin("sync", reads_mailbox=True)
    m.found_sent({"<u@x>"})                             # a bounce quoting it: it left
    no_draft_of_a_sent_message(m, [draft], [], store)
    m.begin("send", "beta", reads_mailbox=True)
    m.settled()
    with pytest.raises(DraftLeft):
        no_draft_of_a_sent_message(m, [draft], [], store)


def test_one_form_and_one_row_per_person():
    m = model()
    one = {"<a@x>": Row("alpha", "dr1@xn--bcher-kva.example", 0, "sent")}
    one_identity(m, StoreView(one, set(), {"dr0@example.edu"}))
    with pytest.raises(TwoIdentities, match="one form"):
        one_identity(m, StoreView({"<a@x>": Row("alpha", "dr1@bücher.example", 0, "sent")}))
    with pytest.raises(TwoIdentities, match="two rows"):
        one_identity(m, StoreView({**one, "<b@x>": Row("alpha", "dr1@xn--bcher-kva.example", 0, "queued")}))
    with pytest.raises(TwoIdentities, match="suppression"):
        one_identity(m, StoreView(one, set(), {"DR0@example.edu"}))
