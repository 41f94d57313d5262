"""The SMTP transport against real aiosmtpd servers on 127.0.0.1: TLS, AUTH and injected faults."""

from __future__ import annotations

import dataclasses
import ssl
from email.message import EmailMessage

import pytest

from outreach.account import Secret, Server
from outreach.deliver.smtp import (
    DEFERRED,
    FAILED,
    SENT,
    UNCERTAIN,
    AuthFailure,
    SenderRefused,
    SMTPTransport,
    TLSFailure,
    auth_advice,
)
from tests.conftest import SMTP_PASSWORD
from tests.smtp_server import Hold, MailServer


class Journal:
    def __init__(self):
        self.events: list[str] = []

    def sending(self):
        self.events.append("sending")

    def not_sent(self):
        self.events.append("not_sent")


def message(to="dr1@example.edu", subject="Hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Asha Rao <asha.rao@example.org>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Dear Dr. Chen,\n.\n..a line that starts with dots\nBest,\nAsha\n")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


OPEN: list[SMTPTransport] = []


@pytest.fixture(autouse=True)
def close_transports():
    yield
    while OPEN:
        OPEN.pop().close()


def transport(server: MailServer, ca_file, *, password=SMTP_PASSWORD, secret=None, context=None,
              security=None, host="127.0.0.1", **options) -> SMTPTransport:
    config = Server("smtp", host, server.port, security or ("none" if server.mode == "plain" else server.mode),
                    server.user)
    context = context or ssl.create_default_context(cafile=str(ca_file))
    options.setdefault("retry_delay", 0.01)
    made = SMTPTransport(config, context, secret or (lambda: Secret("password", password)), helo="client.test",
                         **options)
    OPEN.append(made)
    return made


def send(t: SMTPTransport, to=("dr1@example.edu",), data=None, journal=None):
    return t.send("asha.rao@example.org", list(to), data or message(to[0]), journal or Journal())


@pytest.mark.parametrize("server_fixture", ["smtp_server", "smtps_server"])
def test_batch_on_one_connection_starttls_and_implicit_tls(request, server_fixture, tls_cert):
    server = request.getfixturevalue(server_fixture)
    t = transport(server, tls_cert[0])
    journal = Journal()
    outcomes = [send(t, (f"dr{i}@example.edu",), journal=journal) for i in range(4)]
    t.close()
    assert [o.status for o in outcomes] == [SENT] * 4
    assert outcomes[0].reply.startswith("250 2.0.0 OK")
    assert len(server.messages) == 4 and all(m.tls for m in server.messages)
    assert server.logins == [("PLAIN", server.user)]  # one connection, one login, for the batch
    assert t.connections == 1
    assert journal.events == ["sending"] * 4
    body = server.messages[0].message.get_content()
    assert "\n.\n..a line that starts with dots" in body.replace("\r\n", "\n")  # dot-stuffing round trip


@pytest.mark.parametrize("server_fixture", ["smtp_server", "smtps_server"])
def test_an_untrusted_certificate_is_refused_before_anything_is_sent(request, server_fixture):
    server = request.getfixturevalue(server_fixture)
    t = transport(server, None, context=ssl.create_default_context())  # system CAs only
    with pytest.raises(TLSFailure, match="not trusted.*OUTREACH_CA_FILE"):
        send(t)
    assert server.messages == [] and server.logins == []


def test_the_certificate_must_match_the_host_name(smtp_server, tls_cert):
    """The test certificate names 127.0.0.1 and localhost, not smtp.example.edu."""
    import socket

    t = transport(smtp_server, tls_cert[0])
    # connect to 127.0.0.1 but verify as another name
    original = socket.create_connection

    def redirect(address, *args, **kwargs):
        return original(("127.0.0.1", address[1]), *args, **kwargs)

    t.server = Server("smtp", "smtp.example.edu", smtp_server.port, "starttls", smtp_server.user)
    socket.create_connection = redirect
    try:
        with pytest.raises(TLSFailure, match="not trusted"):
            send(t)
    finally:
        socket.create_connection = original


def test_starttls_that_is_not_offered_is_fatal_never_a_downgrade(tls_cert):
    with MailServer(*tls_cert, mode="plain", password=SMTP_PASSWORD) as server:
        t = transport(server, tls_cert[0], security="starttls")
        with pytest.raises(TLSFailure, match="does not offer STARTTLS"):
            send(t)
        assert server.messages == [] and server.logins == []


def test_plain_auth_is_allowed_to_loopback(tls_cert):
    with MailServer(*tls_cert, mode="plain", password=SMTP_PASSWORD) as server:
        t = transport(server, tls_cert[0], security="none")
        assert send(t).status == SENT and server.logins == [("PLAIN", server.user)]


def test_plain_auth_refused_for_a_remote_host_after_connecting(tls_cert, monkeypatch):
    """Pretend 127.0.0.1 is remote: no unencrypted connection unless allowed by name, and even
    then the password must not go out unencrypted."""
    with MailServer(*tls_cert, mode="plain", password=SMTP_PASSWORD) as server:
        t = transport(server, tls_cert[0], security="none")
        monkeypatch.setattr(Server, "is_loopback", property(lambda self: False))
        with pytest.raises(TLSFailure, match="OUTREACH_SMTP_ALLOW_UNENCRYPTED=yes"):
            send(t)
        assert server.mail_commands == 0
        t.server = dataclasses.replace(t.server, allow_unencrypted=True)
        with pytest.raises(AuthFailure, match="refusing to send a password to 127.0.0.1 unencrypted"):
            send(t)
        assert server.logins == [] and server.failed_logins == 0


def test_a_server_without_auth_is_used_without_a_password(tls_cert):
    with MailServer(*tls_cert, mode="plain", auth=False) as server:
        asked = []
        t = transport(server, tls_cert[0], security="none", secret=lambda: asked.append(1))
        assert send(t).status == SENT
        assert asked == [] and not t.authenticated


def test_bad_password_stops_with_advice(smtp_server, tls_cert):
    t = transport(smtp_server, tls_cert[0], password="wrong")
    with pytest.raises(AuthFailure) as info:
        send(t)
    assert "535" in str(info.value) and "wrong" not in str(info.value)
    assert smtp_server.messages == []


def test_auth_advice_names_the_provider_fix():
    gmail = Server("smtp", "smtp.gmail.com", 465, "ssl", "asha@gmail.com")
    assert "app password" in auth_advice(gmail, "535 5.7.8 BadCredentials", "password")
    assert "OUTREACH_OAUTH2_TOKEN_COMMAND" in auth_advice(gmail, "535", "password")
    office = Server("smtp", "smtp.office365.com", 587, "starttls", "asha@school.edu")
    assert "SMTP AUTH" in auth_advice(office, "535 5.7.139", "password")


def test_xoauth2(tls_cert):
    with MailServer(*tls_cert, mode="ssl", token="ya29.token") as server:
        t = transport(server, tls_cert[0], secret=lambda: Secret("oauth2", "ya29.token"))
        assert send(t).status == SENT
        assert server.logins == [("XOAUTH2", server.user)]
        t.close()
        bad = transport(server, tls_cert[0], secret=lambda: Secret("oauth2", "expired"))
        with pytest.raises(AuthFailure, match="535"):
            send(bad)


def test_421_then_success_reconnects_and_logs_in_again(smtp_server, tls_cert):
    smtp_server.fail_mail.append("421 4.3.2 Service shutting down")
    t = transport(smtp_server, tls_cert[0])
    outcome = send(t)
    assert outcome.status == SENT and outcome.attempts == 2
    assert len(smtp_server.messages) == 1
    assert len(smtp_server.logins) == 2


def test_451_greylisting_is_retried_with_backoff(smtp_server, tls_cert):
    smtp_server.fail_rcpt["dr1@example.edu"] = __import__("collections").deque(
        ["451 4.7.1 Greylisted, try again later"] * 2)
    waits = []
    t = transport(smtp_server, tls_cert[0], wait=lambda s: waits.append(s) or True, retry_delay=1.0)
    outcome = send(t)
    assert outcome.status == SENT and outcome.attempts == 3
    assert waits == [1.0, 2.0]  # exponential, bounded
    assert len(smtp_server.messages) == 1


def test_persistent_4xx_defers_after_the_last_attempt(smtp_server, tls_cert):
    smtp_server.fail_data.extend(["451 4.3.0 Try again later"] * 5)
    journal = Journal()
    t = transport(smtp_server, tls_cert[0], attempts=3)
    outcome = send(t, journal=journal)
    assert outcome.status == DEFERRED and "451 4.3.0" in outcome.reply
    assert journal.events == ["sending", "not_sent"] * 3
    assert smtp_server.messages == []


def test_550_for_one_recipient_fails_only_that_message(smtp_server, tls_cert):
    smtp_server.refuse["nobody@example.edu"] = "550 5.1.1 No such user here"
    t = transport(smtp_server, tls_cert[0])
    journal = Journal()
    refused = send(t, ("nobody@example.edu",), journal=journal)
    ok = send(t, ("dr2@example.edu",))
    assert refused.status == FAILED and refused.reply == "550 5.1.1 No such user here"
    assert journal.events == []  # DATA never began
    assert ok.status == SENT and len(smtp_server.messages) == 1


def test_partial_recipient_refusal_is_reported(smtp_server, tls_cert):
    smtp_server.refuse["cc@example.edu"] = "550 5.1.1 No such user here"
    t = transport(smtp_server, tls_cert[0])
    outcome = send(t, ("dr1@example.edu", "cc@example.edu"))
    assert outcome.status == SENT
    assert outcome.refused == {"cc@example.edu": "550 5.1.1 No such user here"}
    assert smtp_server.messages[0].rcpt_tos == ["dr1@example.edu"]


def test_5xx_at_end_of_data_fails_the_message(smtp_server, tls_cert):
    smtp_server.fail_data.append("554 5.7.1 Message rejected as spam")
    outcome = send(transport(smtp_server, tls_cert[0]))
    assert outcome.status == FAILED and "554 5.7.1" in outcome.reply


def test_5xx_for_the_sender_stops_the_batch(smtp_server, tls_cert):
    smtp_server.fail_mail.append("550 5.7.60 Client does not have permissions to send as this sender")
    with pytest.raises(SenderRefused, match="5.7.60"):
        send(transport(smtp_server, tls_cert[0]))


@pytest.mark.parametrize("action, delivered", [("drop", 0), ("drop-keep", 1)])
def test_a_drop_during_data_is_uncertain_and_the_batch_goes_on(smtp_server, tls_cert, action, delivered):
    smtp_server.fail_data.append(action)
    t = transport(smtp_server, tls_cert[0])
    journal = Journal()
    first = send(t, journal=journal)
    assert first.status == UNCERTAIN and "during DATA" in first.reply
    assert journal.events == ["sending"]  # never "not_sent": we do not know
    assert len(smtp_server.messages) == delivered
    second = send(t, ("dr2@example.edu",))
    assert second.status == SENT and len(smtp_server.logins) == 2


def test_a_server_that_closes_idle_or_after_n_messages_gets_a_new_connection(smtp_server, tls_cert):
    smtp_server.close_every = 2
    t = transport(smtp_server, tls_cert[0])
    outcomes = [send(t, (f"dr{i}@example.edu",)) for i in range(5)]
    assert [o.status for o in outcomes] == [SENT] * 5
    assert [o.attempts for o in outcomes] == [1] * 5  # reconnecting after a close is free
    assert len(smtp_server.messages) == 5 and len(smtp_server.logins) == 3


def test_an_unreachable_server_at_the_start_fails_at_once(tls_cert):
    from outreach.deliver.smtp import ConnectFailure
    from tests.smtp_server import free_port

    config = Server("smtp", "127.0.0.1", free_port(), "ssl", "x")
    waits = []
    t = SMTPTransport(config, ssl.create_default_context(), lambda: Secret("password", "x"), attempts=4,
                      wait=lambda s: waits.append(s) or True)
    with pytest.raises(ConnectFailure, match=r"cannot connect to 127.0.0.1:\d+ \(.*refused"):
        t.open()
    assert waits == []  # a wrong host or port is reported now, not after a minute of retries


def test_reconnecting_mid_batch_is_retried(smtp_server, tls_cert, monkeypatch):
    waits = []
    t = transport(smtp_server, tls_cert[0], wait=lambda s: waits.append(s) or True, retry_delay=1.0)
    assert send(t).status == SENT
    t.abort()  # the connection is gone ...
    real, failures = SMTPTransport._connect, []

    def flaky(self):
        if len(failures) < 2:  # ... and the network is down for two tries
            failures.append(1)
            raise ConnectionRefusedError(111, "Connection refused")
        return real(self)

    monkeypatch.setattr(SMTPTransport, "_connect", flaky)
    assert send(t, ("dr2@example.edu",)).status == SENT
    assert waits == [1.0, 2.0] and len(smtp_server.messages) == 2


def test_hold_helper_blocks_until_released(smtp_server, tls_cert):
    """The fixture used by the crash tests really stops the server mid-transaction."""
    import threading

    smtp_server.hold_data = Hold(nth=1)
    t = transport(smtp_server, tls_cert[0])
    results = []
    thread = threading.Thread(target=lambda: results.append(send(t)))
    thread.start()
    assert smtp_server.hold_data.reached.wait(5)
    assert results == [] and len(smtp_server.messages) == 1  # kept, its 250 held back
    smtp_server.hold_data.release()
    thread.join(5)
    assert results[0].status == SENT and len(smtp_server.messages) == 1


@pytest.mark.parametrize("where, reply", [
    ("mail", "550 5.4.5 Daily user sending limit exceeded."),
    ("rcpt", "550 5.4.5 Daily user sending limit exceeded."),
    ("data", "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"),
])
def test_an_account_quota_stops_the_batch_instead_of_failing_contacts(smtp_server, tls_cert, where, reply):
    from outreach.deliver.smtp import AccountLimit

    if where == "mail":
        smtp_server.fail_mail.append(reply)
    elif where == "rcpt":
        smtp_server.refuse["dr1@example.edu"] = reply
    else:
        smtp_server.fail_data.append(reply)
    with pytest.raises(AccountLimit, match="sending limit: try again tomorrow"):
        send(transport(smtp_server, tls_cert[0]))
