"""Plain addresses are accepted without email-validator (it is not even imported for them): each
one the fast path accepts, email-validator accepts too, with the same identity."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.addresses import SPECIAL_USE, AddressValidator, InvalidAddress, plain_identity


def full_identity(text: str) -> str | None:
    """What email-validator alone makes of ``text`` (no DNS), as the tool keys it; None if refused."""
    try:
        valid = email_validator.validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError:
        return None
    return f"{valid.local_part.lower()}@{valid.ascii_domain.lower()}"


# Mostly addresses that look plain, with the characters and lengths where the rules change mixed in.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
plain_labels = st.text(st.sampled_from(LETTERS), min_size=1, max_size=6) | st.builds(
    lambda a, middle, b: a + middle + b, st.sampled_from(LETTERS), st.text(st.sampled_from(LETTERS + "-"), max_size=12),
    st.sampled_from(LETTERS))
odd_labels = st.text(st.sampled_from("abcXYZ019-_é.ｅ"), max_size=70) | st.sampled_from(
    ["a" * 63, "a" * 64, "xn--univ-epa", "ab--cd", "-a", "a-", "1", "co", "Q"])
labels = plain_labels | plain_labels | odd_labels
plain_locals = st.lists(st.text(st.sampled_from(LETTERS + "_+'-"), min_size=1, max_size=12), min_size=1,
                        max_size=3).map(".".join)
odd_locals = st.text(st.sampled_from("azAZ09.-_+!#$%&'*/=?^`{|}~\"(), @\\é"), max_size=70) | st.sampled_from(
    ["a" * 64, "a" * 65, "a..b", ".a", "a.", "jane.doe+tag"])
tlds = st.sampled_from(["edu", "org", "COM", "io", "x", "123", "c0m", "xn--p1ai", *SPECIAL_USE, "example"]) | \
    st.text(st.sampled_from(LETTERS[:52]), min_size=2, max_size=8) | odd_labels
domains = st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(labels, min_size=1, max_size=4), tlds)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", plain_locals | plain_locals | odd_locals, domains) \
    | st.text(max_size=30)


@settings(max_examples=400, deadline=None)
@given(addresses)
def test_what_the_fast_path_accepts_email_validator_accepts_alike(text):
    fast = plain_identity(text)
    if fast is not None:
        assert full_identity(text) == fast


@pytest.mark.parametrize("text", ["j.chen@example.edu", "Jane.Doe+fall@Med.Example-U.EDU", f"{'a' * 64}@example.org",
                                  "a@" + ".".join(["b" * 63] * 3) + ".com"[:253]])
def test_ordinary_addresses_take_the_fast_path(text):
    assert plain_identity(text) == full_identity(text) == text.lower()


@pytest.mark.parametrize("text", ["a@b.test", "a@localhost", "a@x.local", "a@xn--univ-epa.fr", "a@ab--cd.org",
                                  "a@example.123", "josé@example.org", "a@univé.fr", '"a b"@example.org',
                                  f"{'a' * 65}@example.org", "a@example", "a..b@example.org"])
def test_anything_else_goes_to_email_validator(text):
    assert plain_identity(text) is None


def test_special_use_names_are_email_validators():
    assert SPECIAL_USE == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def test_the_validator_still_refuses_what_email_validator_refuses():
    with pytest.raises(InvalidAddress, match="special-use"):
        AddressValidator()("a@b.test")
