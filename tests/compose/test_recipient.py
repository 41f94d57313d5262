"""A Recipient (every row's To address) is made without email.headerregistry.Address's own
``__init__``: it is the Address that would have been made, and refuses what that refuses."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.compose.templates import Recipient

names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20) | st.sampled_from(["Jia Chen", "", "a\nb"])
locals_ = st.text(st.sampled_from(list('ab.+"(),:;<>@[\\] \r\n')), max_size=8) | st.sampled_from(["j.chen", "a"])
domains = st.sampled_from(["example.edu", "", "xn--univ-epa.fr", "a\rb.org"])


@settings(max_examples=150, deadline=None)
@given(names, locals_, domains)
def test_a_recipient_is_the_address_that_would_have_been_made(name, local, domain):
    validated = f"{local}@{domain}" if domain else local
    username, _, domain = validated.rpartition("@")
    try:
        expected = Address(name, username, domain)
    except ValueError as e:
        with pytest.raises(ValueError, match=str(e)):
            Recipient(name, validated)
        return
    made = Recipient(name, validated)
    assert (made.display_name, made.username, made.domain, made.addr_spec, str(made)) == \
        (expected.display_name, expected.username, expected.domain, expected.addr_spec, str(expected))
    assert made == expected
