"""A draft keeps the headers written from it and the search of its text (the check pass makes them,
`draft` uses them again); a draft changed since gets them made again, never the stale ones."""

from __future__ import annotations

from email.headerregistry import Address

from outreach.compose import headers
from outreach.compose.checks import scan
from outreach.compose.contacts import Contact
from outreach.compose.templates import Draft
from outreach.config import parse_sender

SENDER = parse_sender("Asha Rao <asha.rao@example.org>")


def fresh_copy(draft: Draft) -> Draft:
    return Draft(contact=draft.contact, subject=draft.subject, to=list(draft.to), cc=list(draft.cc), text=draft.text)


def test_headers_are_written_again_when_the_draft_changed():
    draft = Draft(contact=Contact(2, {}, "jchen@example.edu"), subject="Stroke imaging",
                  to=[Address("Jia Chen", "jchen", "example.edu")], text="Dear Dr. Chen,\n")
    first = headers.user_headers(draft, SENDER)
    assert headers.user_headers(draft, SENDER)[1] is first[1]  # kept, not written again
    draft.to[0] = Address("Jia Chen-Li", "jchen", "example.edu")  # the same addr-spec: only the lines differ
    draft.cc.append(Address("", "chair", "example.edu"))
    draft.subject = "Imagerie cérébrale"
    assert headers.user_headers(draft, SENDER) == headers.user_headers(fresh_copy(draft), SENDER)
    assert "Jia Chen-Li" in headers.user_headers(draft, SENDER)[1].lines[0]


def test_the_search_is_made_again_when_the_text_changed():
    draft = Draft(contact=Contact(2, {}, "jchen@example.edu"), subject="Hello",
                  to=[Address("", "jchen", "example.edu")], text="Thank you for your time.\n")
    assert scan(draft).commitments == []
    assert scan(draft) is scan(draft)
    draft.text = "I will rank your program first.\n"
    kept, fresh = scan(draft), scan(fresh_copy(draft))
    assert kept.text == fresh.text
    assert [(m.span(), p) for m, p in kept.commitments] == [(m.span(), p) for m, p in fresh.commitments] != []
