"""Issue 15, item 5: a model checks it. A stateful property test (Hypothesis's
``RuleBasedStateMachine``) drives the real commands against a real SMTP server (aiosmtpd, the
ground truth of "received") and a real Dovecot (where replies, auto-replies and bounces arrive)
through random sequences, beside the plain reference model of :mod:`tests.model.reference`.

Each example: a fresh workspace, a fresh mailbox, 3-5 people, two cold campaigns over the same
people ("alpha", "beta"), a follow-up template, and a second sheet where one person is spelt
another way (upper case, full-width letters, or the Unicode form of a punycode domain); drawn
too, "alpha" already drafted or sent to everyone, so that more of the steps go where it matters.

Rules (the steps Hypothesis draws; one with no one to apply to is not drawn, or does nothing):
  draft              `draft` of a campaign from either sheet, as .eml files or into IMAP Drafts
                     (--include-answered / --include-recent drawn too)
  send               `send --yes` of a campaign from either sheet (--limit 1|2, the same --include-*)
  followup           `followup CAMPAIGN --send --yes`, `--draft` or `--imap`, with --after 1h or 7d
  reply_arrives      a threaded reply to the last message the person received, or a fresh message
                     from their address (as we spell it, in capitals, or with its Unicode domain)
  auto_reply_arrives an out-of-office notice, with or without a return date (never an answer)
  bounce_arrives     a DSN quoting the Message-ID of the last message the person received
  sync               `sync` over IMAP
  mark               `mark ADDRESS replied|declined|opted-out`, the address as either sheet spells
                     it or in capitals (with --campaign when the tool asks which)
  resolve            `resolve ADDRESS sent|unsent --campaign C` for a message the model knows is
                     uncertain (at once after the kill too: resolve settles a dead run first), with
                     the truth from the server (the user checked the Sent folder), the address
                     typed as for mark
  kill_sending       `send` or `followup --send` as a real process, SIGKILLed while the server
                     holds its n-th MAIL, or its n-th DATA (the server keeping or losing the message);
                     then, drawn, a lost WAL: the store's side files (its rollback journal; the
                     -wal and -shm of an older store) are deleted, as by a tool that copies the .db
  kill_drafting      `draft --imap` as a real process, SIGKILLed the moment its n-th draft lands in
                     the Drafts folder (watched in Dovecot's Maildir); then, drawn, a lost WAL
  time_passes        the clock (OUTREACH_NOW) moves on 2 hours, 25 hours or 8 days

Promises, checked after every step:
  (a) nobody receives a message twice (by Message-ID; by person, campaign and step);
  (b) nobody who answered, bounced or opted out (as far as the tool is expected to know, see
      the reference model) receives anything they were not explicitly included for;
  (c) no draft remains for a sent message: none whose Message-ID the server received or the store
      records sent, none of a (person, campaign, step) the server received, and none the store
      does not know (a draft of an uncertain message waits for `resolve`);
  (d) no recorded fact is lost: every message the server received is recorded sent or uncertain,
      a message once recorded sent (or possibly sent) stays so, and no recorded event or
      suppression disappears;
  (e) `status`'s table, whose threads share answers when what the rules read of them is the same,
      is the one `next_action` gives thread by thread (follow-ups after 1 hour and after 7 days).
And one identity: the store keeps every address in its one form, one row per person and message,
and `mark` and `resolve` never refuse a spelling of a person the store holds the message for
(refusing a word about someone unknown is fine).

A run killed between a message's 250 and removing its draft cannot have removed it, and a
mailbox read that finds a message sent (in the Sent folder, or by an answer to it) removes no
draft: such a draft is owed, not left, until the next command that takes the outbox lock (draft,
send, followup, resolve) has finished, which must remove it.

Every step is noted (the command line, its exit code, what arrived), so a failure prints the
sequence that led to it, and the test prints how many examples, steps and kills ran. CI runs 10
examples of up to 12 steps, derandomized (always the same ones), without shrinking. The long
run (random examples; ``--hypothesis-seed`` makes one repeatable), and the minimal sequence of a
failure:

    OUTREACH_MODEL_EXAMPLES=2000 python3 -m pytest tests/model/test_model.py -q --hypothesis-seed=1
    OUTREACH_MODEL_SHRINK=1 python3 -m pytest tests/model/test_model.py -q

(OUTREACH_MODEL_STEPS sets the most steps per example, 12 by default.)
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from outreach.cli import cli
from outreach.store import Store
from outreach.track.threads import format_status, status_lines
from tests import mail_samples as samples
from tests.conftest import ROOT, TEMPLATE, TOPICS, MailAccount, imap_settings, smtp_settings
from tests.model import observe
from tests.model.reference import (
    ANSWERED,
    BOUNCED,
    CAMPAIGNS,
    OPTED_OUT,
    Delivery,
    DraftCopy,
    Ledger,
    Model,
    NotRecognised,
    Person,
    StoreView,
    Uncertain,
    campaign_step,
    never_twice,
    no_draft_of_a_sent_message,
    nothing_after_stop,
    one_identity,
)
from tests.smtp_server import Hold, MailServer
from tests.track.test_status_lines import reference as status_reference

EXAMPLES = int(os.environ.get("OUTREACH_MODEL_EXAMPLES", "15"))
STEPS = int(os.environ.get("OUTREACH_MODEL_STEPS", "12"))
SHRINK = os.environ.get("OUTREACH_MODEL_SHRINK", "") not in ("", "0", "no")
FIXED = "OUTREACH_MODEL_EXAMPLES" not in os.environ  # CI's run: always the same examples

ADDRESSES = [f"dr{i}@example.edu" if i != 2 else "dr2@xn--bcher-kva.example" for i in range(5)]  # dr2: an IDN
TEMPLATES = {"alpha": TEMPLATE, "beta": TEMPLATE.replace(CAMPAIGNS["alpha"], CAMPAIGNS["beta"]),
             "followup": "Subject: Re: {{ original.subject }}\nKind: follow-up\n\nDear Dr. {{ last_name }},\n\n"
                         "I am following up on my email of {{ original.sent_on }}.\n\nBest regards,\nAsha Rao\n"}
SHEETS = ("people.csv", "people-again.csv")   # the second spells one person another way
CAMPAIGN = st.sampled_from(sorted(CAMPAIGNS))
SHEET = st.sampled_from(SHEETS)
INCLUDE = st.sampled_from([(), ("--include-recent",), ("--include-answered",),
                           ("--include-answered", "--include-recent")])
WHO = st.integers(0, 4)        # a person, among those a rule can apply to
SPELLING = st.integers(0, 2)   # a spelling, among those of that person
WAL = st.sampled_from(["kept", "lost"])  # after a kill: the store's -wal/-shm/-journal files survive or not
LOCKING = ("draft", "send", "followup", "resolve")  # the commands that take the outbox lock, settling a dead run
ALLOWED_REFUSALS = ("no campaign", "no tracking store", "several campaigns", "no message to", "has no message in",
                    "has no uncertain message")


def spelt_otherwise(address: str, style: str) -> str:
    """The same address as another sheet or mail client may write it: in capitals, with a full-width
    domain, or (a punycode domain) in Unicode, composed (NFC) or decomposed (NFD)."""
    local, _, domain = address.rpartition("@")
    if style in ("unicode", "decomposed") and domain.startswith("xn--"):
        unicode = domain.encode().decode("idna")
        return f"{local}@{unicodedata.normalize('NFD' if style == 'decomposed' else 'NFC', unicode)}"
    if style in ("full-width", "unicode", "decomposed"):
        return local + "@" + "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in domain)
    return address.upper()


@dataclass
class Servers:
    """What every example shares: the servers, a folder for workspaces, the CA file."""

    smtp: MailServer
    dovecot: object
    cafile: Path
    root: Path
    examples: int = 0   # run so far, with their steps and kills (printed at the end)
    steps: int = 0
    kills: int = 0


class Outcome(NamedTuple):
    exit_code: int
    output: str


@dataclass
class Seen:
    """What the real parts said after the last step."""

    deliveries: list[Delivery]
    drafts: list[DraftCopy]
    store: StoreView


class OutreachMachine(RuleBasedStateMachine):
    servers: Servers   # set by the test before the run

    def __init__(self):
        super().__init__()
        servers = self.servers
        self.ws = Path(tempfile.mkdtemp(prefix="ws-", dir=servers.root))
        self.smtp = servers.smtp
        self.smtp.messages.clear()
        self.smtp.hold_mail = self.smtp.hold_data = None
        user = servers.dovecot.new_user()
        client = servers.dovecot.connect(user, ssl.create_default_context(cafile=str(servers.cafile)))
        self.mailbox = MailAccount(servers.dovecot, user, client, servers.cafile)
        client.create_folder("Drafts")    # as every mail account has; the kill watches it fill
        env = smtp_settings(self.smtp, servers.cafile, **imap_settings(servers.dovecot, user, servers.cafile))
        (self.ws / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
        (self.ws / "templates").mkdir()
        for name, text in TEMPLATES.items():
            (self.ws / "templates" / f"{name}.txt").write_text(text, encoding="utf-8")
        os.chdir(self.ws)
        self.runner = CliRunner()
        self.start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
        self.hours = 0
        self.model: Model | None = None
        self.ledger = Ledger()
        self.seen: Seen | None = None

    def teardown(self):
        self.servers.examples += 1
        self.servers.steps += self.model.step if self.model else 0
        try:
            self.mailbox.client.logout()
        finally:
            os.chdir(self.servers.root)
            shutil.rmtree(self.ws, ignore_errors=True)

    # -- the people ------------------------------------------------------------------------
    @initialize(count=st.integers(3, 5), other=st.integers(0, 4),
                style=st.sampled_from(["upper case", "full-width", "unicode", "decomposed"]),
                begun=st.sampled_from(["sent", "drafted", "nothing"]))
    def people(self, count, other, style, begun):
        people = []
        for i, address in enumerate(ADDRESSES[:count]):
            spellings = (address,) + ((spelt_otherwise(address, style),) if i == other % count else ())
            people.append(Person(i, spellings))
        self.model = Model(people)
        for sheet, spelling in zip(SHEETS, (0, -1), strict=True):
            rows = [f"{p.spellings[spelling]},Name{p.index},Surname{p.index},{TOPICS[p.index]},"
                    f"Your paper number {p.index} on perfusion maps was a revelation." for p in people]
            if spelling:
                rows.reverse()
            (self.ws / sheet).write_text("\n".join(["email,first_name,last_name,topic,note", *rows]) + "\n",
                                         encoding="utf-8")
        # a season under way: fewer of an example's steps are spent getting somewhere
        if begun == "drafted":
            self.draft("alpha", SHEETS[0], imap=False, include=())
        elif begun == "sent":
            self.send("alpha", SHEETS[0], limit=None, include=())
        self.observe()

    # -- commands --------------------------------------------------------------------------
    @rule(campaign=CAMPAIGN, sheet=SHEET, imap=st.booleans(), include=INCLUDE)
    def draft(self, campaign, sheet, imap, include):
        self.model.begin("draft", campaign)
        self.cli("draft", f"templates/{campaign}.txt", sheet, "--campaign", campaign, *(["--imap"] if imap else []),
                 *include)

    @rule(campaign=CAMPAIGN, sheet=SHEET, limit=st.sampled_from([None, 1, 2]), include=INCLUDE)
    def send(self, campaign, sheet, limit, include):
        self.model.begin("send", campaign, include_answered="--include-answered" in include, reads_mailbox=True)
        self.cli("send", f"templates/{campaign}.txt", sheet, "--campaign", campaign, "--yes", *include,
                 *(["--limit", str(limit)] if limit else []))

    @precondition(lambda self: self.has_store())
    @rule(campaign=CAMPAIGN, mode=st.sampled_from(["--send", "--draft", "--imap"]), after=st.sampled_from(["1h", "7d"]))
    def followup(self, campaign, mode, after):
        self.model.begin("followup", campaign, reads_mailbox=True)
        self.cli(*followup_args(campaign, after), *{"--send": ["--send", "--yes"], "--imap": ["--imap"]}.get(mode, []))

    @precondition(lambda self: self.has_store())
    @rule()
    def sync(self):
        self.model.begin("sync", reads_mailbox=True)
        self.cli("sync")

    @rule(who=WHO, outcome=st.sampled_from(["replied", "declined", "opted-out"]), spelling=SPELLING)
    def mark(self, who, outcome, spelling):
        person = pick(self.written_to() if outcome != "opted-out" else range(len(self.model.people)), who)
        if person is None:
            return
        typed = pick(self.spellings(person), spelling)
        self.model.begin("mark")
        result = self.cli("mark", typed, outcome)
        if result.exit_code == 2 and "several campaigns" in result.output:  # the user says which
            result = self.cli("mark", typed, outcome, "--campaign", self.last_campaign(person))
        if result.exit_code == 0:
            self.model.know(person, OPTED_OUT if outcome == "opted-out" else ANSWERED)
        elif "no message to" in result.output:
            self.recognises(person, typed, lambda row: True)

    @precondition(lambda self: self.model.uncertain)
    @rule(who=WHO, spelling=SPELLING)
    def resolve(self, who, spelling):
        person = pick(sorted(self.model.uncertain), who)  # resolve settles a dead run first: at once
        if person is None:
            return
        entry = self.model.uncertain.pop(person)
        typed = pick(self.spellings(person), spelling)
        self.model.begin("resolve")
        outcome = self.cli("resolve", typed, "sent" if entry.delivered else "unsent", "--campaign", entry.campaign)
        if outcome.exit_code == 0 and not entry.delivered:
            self.ledger.settled_unsent(entry.message_id)
        elif "has no uncertain message" in outcome.output:
            self.recognises(person, typed,
                            lambda row: row.state in ("sending", "uncertain") and row.campaign == entry.campaign)

    # -- mail arriving -------------------------------------------------------------------------
    @precondition(lambda self: self.written_to())
    @rule(who=WHO, threaded=st.booleans(), spelling=SPELLING)
    def reply_arrives(self, who, threaded, spelling):
        person = pick(self.received() if threaded else self.written_to(), who)
        if person is None:
            return
        sender = pick(self.mail_spellings(person), spelling)
        self.model.begin("reply arrives")
        raw = samples.gmail_reply(self.last_received(person), from_addr=sender) if threaded else \
            fresh_message(sender, person)
        self.arrive(raw, f"{'a reply' if threaded else 'a fresh message'} from {sender}")
        self.model.arrives(person, ANSWERED)

    @precondition(lambda self: self.received())
    @rule(who=WHO, dated=st.booleans())
    def auto_reply_arrives(self, who, dated):
        person = pick(self.received(), who)
        if person is None:
            return
        self.model.begin("auto-reply arrives")
        sent = self.last_received(person)
        back = (self.now() + timedelta(days=3)).date()
        self.arrive(samples.gmail_vacation(sent, back) if dated else samples.sieve_vacation(sent),
                    f"an out-of-office notice from {sent.to}")

    @precondition(lambda self: self.received())
    @rule(who=WHO)
    def bounce_arrives(self, who):
        person = pick(self.received(), who)
        if person is None:
            return
        self.model.begin("bounce arrives")
        sent = self.last_received(person)
        self.arrive(samples.postfix_bounce(sent), f"a bounce of {sent.message_id} to {sent.to}")
        self.model.arrives(person, BOUNCED)

    # -- faults and time ---------------------------------------------------------------------
    @rule(command=st.sampled_from(["send", "followup --send"]), campaign=CAMPAIGN, sheet=SHEET,
          nth=st.integers(1, 3), moment=st.sampled_from(["MAIL", "DATA kept", "DATA lost"]), wal=WAL)
    def kill_sending(self, command, campaign, sheet, nth, moment, wal):
        self.model.begin(command, campaign, reads_mailbox=True)
        server = self.smtp
        if moment == "MAIL":
            hold = server.hold_mail = Hold(server.mail_commands + nth)
        else:
            hold = server.hold_data = Hold(server.data_commands + nth, keep=moment == "DATA kept")
        args = (["send", f"templates/{campaign}.txt", sheet, "--campaign", campaign, "--yes"] if command == "send"
                else [*followup_args(campaign, "1h"), "--send", "--yes"])
        try:
            killed = self.run_and_kill(args, hold.reached.is_set)
        finally:
            server.hold_mail = server.hold_data = None
            hold.release()
        note(f"  the kill was aimed at the server's hold of MAIL/DATA command {hold.nth} ({moment})")
        if killed and hold.held is not None:
            held = message_from_bytes(hold.held, policy=default_policy)
            campaign_held, step = campaign_step(str(held["Subject"]))
            person = self.model.person_of(held["To"].addresses[0].addr_spec)
            self.model.uncertain[person] = Uncertain(campaign_held, step, str(held["Message-ID"]), hold.keep)
        if killed and wal == "lost":
            self.lose_wal()

    @rule(campaign=CAMPAIGN, sheet=SHEET, nth=st.integers(1, 3), wal=WAL)
    def kill_drafting(self, campaign, sheet, nth, wal):
        self.model.begin("draft --imap", campaign)
        folder = self.servers.dovecot.maildir(self.mailbox.user) / ".Drafts"
        before = maildir_files(folder)
        killed = self.run_and_kill(["draft", f"templates/{campaign}.txt", sheet, "--campaign", campaign, "--imap"],
                                   lambda: len(maildir_files(folder) - before) >= nth, pause=0)
        note(f"  the kill was aimed at the moment draft {nth} of this run landed in Drafts")
        if killed and wal == "lost":
            self.lose_wal()

    def lose_wal(self) -> None:
        """After a kill: the store's sidecar files are gone (a restore, a sync tool, a careless cleanup)."""
        note("  then the store's -wal, -shm and -journal files are deleted")
        for suffix in ("-wal", "-shm", "-journal"):
            (self.ws / f"outreach.db{suffix}").unlink(missing_ok=True)

    @rule(hours=st.sampled_from([2, 25, 8 * 24]))
    def time_passes(self, hours):
        self.model.begin(f"{hours} h pass")
        self.hours += hours

    # -- the promises ------------------------------------------------------------------------
    @invariant()
    def promises_hold(self):
        if self.model is None:
            return
        before = self.seen.store if self.seen else None
        seen = self.observe()
        if before is not None:  # sent now, not by this step's own SMTP: a mailbox read found it so
            delivered = {d.message_id for d in seen.deliveries if self.model.arrived_at[d.position] == self.model.step}
            self.model.found_sent({m for m, row in seen.store.rows.items()
                                   if row.state == "sent" and before.state(m) != "sent" and m not in delivered})
        never_twice(seen.deliveries)
        nothing_after_stop(self.model, seen.deliveries)
        no_draft_of_a_sent_message(self.model, seen.drafts, seen.deliveries, seen.store)
        one_identity(self.model, seen.store)
        self.ledger.check(seen.store, seen.deliveries)
        status_agrees(self.ws / "outreach.db", self.now())

    # -- helpers ------------------------------------------------------------------------------
    def arrive(self, raw: bytes, what: str) -> None:
        self.mailbox.append(raw)
        note(f"step {self.model.step}: {what} arrives in the INBOX")

    def recognises(self, person: int, typed: str, wanted) -> None:
        """The tool refused the user's word about ``typed``: it must be because the store holds no
        row it applies to, not because it took another spelling of the address for another person."""
        rows = [row for row in observe.read_store(self.ws / "outreach.db").rows.values()
                if self.model.person_of(row.address) == person and wanted(row)]
        if rows:
            raise NotRecognised(f"{typed!r} was refused, but the store holds {rows[0]} for that person")

    def now(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    def environment(self) -> dict[str, str]:
        return {"OUTREACH_NOW": self.now().strftime("%Y-%m-%dT%H:%M:%SZ")}

    def cli(self, *args: str) -> Outcome:
        """A command in-process, ended as a process ends: exit 0/1, or 2 with a refusal the user can act on."""
        result = self.runner.invoke(cli, list(args), env=self.environment(), catch_exceptions=False)
        outcome = Outcome(result.exit_code, result.output)
        del result  # its traceback holds the command's frames, and with them its store connection
        gc.collect()  # as when a process exits: the store connections close (and checkpoint) now
        note(f"step {self.model.step} (+{self.hours} h): outreach {' '.join(args)} -> exit {outcome.exit_code}")
        if not acceptable(outcome.exit_code, outcome.output):
            raise AssertionError(f"outreach {' '.join(args)} exited {outcome.exit_code}:\n{outcome.output}")
        if args[0] in LOCKING and outcome.exit_code in (0, 1):
            self.model.settled()
        return outcome

    def run_and_kill(self, args: list[str], moment, pause: float = 0.002) -> bool:
        """Run a command as a real process and SIGKILL it when ``moment()`` becomes true (watched on
        the servers, never timed by a sleep); False when it finished first."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.environment()}
        process = subprocess.Popen([sys.executable, "-m", "outreach", *args], cwd=self.ws, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if moment():
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(pause)
        out, err = process.communicate(timeout=60)
        killed = process.returncode == -signal.SIGKILL
        note(f"step {self.model.step} (+{self.hours} h): outreach {' '.join(args)} -> "
             f"{'SIGKILL' if killed else f'exit {process.returncode}'}")
        if not killed and not acceptable(process.returncode, out.decode() + err.decode()):
            raise AssertionError(f"outreach {' '.join(args)} exited {process.returncode}:\n"
                                 f"{out.decode()}{err.decode()}")
        if killed:  # it may have died settling what an earlier run left: that stays owed
            self.model.killed()
            self.servers.kills += 1
        elif process.returncode in (0, 1):
            self.model.settled()
        return killed

    def observe(self) -> Seen:
        self.model.note_arrivals(len(self.smtp.messages))
        self.seen = Seen(observe.deliveries(self.smtp, self.model), observe.drafts(self.ws, self.mailbox),
                                   observe.read_store(self.ws / "outreach.db"))
        return self.seen

    def has_store(self) -> bool:
        return (self.ws / "outreach.db").exists()

    def received(self) -> list[int]:
        return sorted({d.person for d in self.seen.deliveries if d.person is not None})

    def written_to(self) -> list[int]:
        """People with a message received or a draft waiting: the store has a row for them."""
        drafted = {self.model.person_of(d.rcpt) for d in self.seen.drafts}
        return sorted(({*self.received()} | drafted) - {None})

    def spellings(self, person: int) -> list[str]:
        """How the user may type the address: as either sheet spells it, or in upper case."""
        spellings = self.model.people[person].spellings
        return list(dict.fromkeys([*spellings, spellings[0].upper()]))

    def mail_spellings(self, person: int) -> list[str]:
        """How the person's own mail client may write it: as we do, in capitals, a Unicode domain as such."""
        address = self.model.people[person].spellings[0]
        forms = [address, address.upper()]
        if "@xn--" in address:
            forms.append(spelt_otherwise(address, "unicode"))
        return forms

    def last_received(self, person: int) -> samples.Sent:
        delivery = [d for d in self.seen.deliveries if d.person == person][-1]
        received = self.smtp.messages[delivery.position]
        return samples.Sent(delivery.message_id, delivery.rcpt, str(received.message["Subject"]), received.data)

    def last_campaign(self, person: int) -> str:
        campaigns = [d.campaign for d in self.seen.deliveries if d.person == person]
        campaigns += [campaign_step(d.subject)[0] for d in self.seen.drafts if self.model.person_of(d.rcpt) == person]
        return campaigns[-1] if campaigns else "alpha"


def status_agrees(db: Path, now: datetime) -> None:
    """(e) The status table's shared answers are `next_action`'s, on the store the steps made."""
    if not db.exists():
        return
    store = Store(db)
    try:
        for after in (timedelta(hours=1), timedelta(days=7)):
            table = format_status(list(status_lines(store.thread_reads(), now, after, 1)))
            if table != status_reference(store, now, after, 1):
                raise AssertionError(f"status (after {after}) differs from next_action's answers:\n{table}")
    finally:
        store.close()


def acceptable(code: int, output: str) -> bool:
    """Exit 0 or 1, or 2 with a refusal the user can act on (e.g. a follow-up of a campaign never
    drafted); anything else is a failure of the command."""
    return code in (0, 1) or (code == 2 and any(refusal in output for refusal in ALLOWED_REFUSALS))


def pick(candidates, index: int):
    """The index-th candidate (cyclically), or None when there is none. Draws do not depend on
    what the servers said, so that an example replays the same way."""
    candidates = list(candidates)
    return candidates[index % len(candidates)] if candidates else None


def followup_args(campaign: str, after: str) -> list[str]:
    return ["followup", campaign, "--template", "templates/followup.txt", "--after", after]


def fresh_message(from_addr: str, person: int) -> bytes:
    """A new message from the person, no thread headers (an answer all the same); a Unicode
    domain is written as it is (RFC 6532), as a client on such a domain writes it."""
    message = EmailMessage(policy=SMTPUTF8)
    message["From"] = f"Name{person} Surname{person} <{from_addr}>"
    message["To"] = f"{samples.SENDER_NAME} <{samples.SENDER}>"
    message["Subject"] = f"About your note on {TOPICS[person]} imaging"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="mail.example.edu")
    message.set_content("Thank you for writing. Could you send me your CV?\n")
    return message.as_bytes()


def maildir_files(folder: Path) -> set[str]:
    """The messages in a Maildir folder, by their unique names (without the flags, which change
    when a message is read, flagged or moved from new/ to cur/)."""
    names: set[str] = set()
    for sub in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError):
            names.update(name.partition(":")[0] for name in os.listdir(folder / sub))
    return names


# -- the test -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def servers(dovecot, tls_cert, tmp_path_factory):
    from tests.dovecot_server import PASSWORD

    with MailServer(*tls_cert, mode="starttls", password=PASSWORD) as smtp:
        yield Servers(smtp, dovecot, tls_cert[0], tmp_path_factory.mktemp("model"))


def test_the_promises_hold_through_random_sequences(servers, monkeypatch, capsys):
    monkeypatch.chdir(servers.root)  # each example works in its own workspace; this puts the folder back
    OutreachMachine.servers = servers
    try:
        run_state_machine_as_test(OutreachMachine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=FIXED, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])],
            suppress_health_check=list(HealthCheck)))
    finally:
        with capsys.disabled():
            print(f"\nmodel: {servers.examples} examples, {servers.steps} steps, {servers.kills} kills")  # noqa: T201
