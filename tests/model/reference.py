"""The reference model of the stateful test: who each person is, what they said, what the tool
has been told, and the promises checked after every step.

Plain Python, independent of ``outreach``: the model knows people, not the tool's addresses.
A person is one index whatever spelling a sheet or a mail uses (``wire_form``: the local part
casefolded, the domain through IDNA, so upper case, full-width letters and a Unicode domain are
the punycode one); a message is a (campaign, step) read from its subject.

**When the tool is expected to know** (the one rule of this model, kept simple):

* a manual mark is known from the moment `outreach mark` succeeds;
* mail that arrived in the INBOX (a reply, a fresh message from the person, a bounce) is known
  from the first later command that reads the mailbox: `sync`, `followup` (any mode) and
  `send` (IMAP is configured, so each reads the mailbox before it decides anything);
  `draft`, `mark` and `resolve` do not read it;
* an auto-reply is never an answer.

"Explicitly included" means one thing: the first message (step 0) of a campaign, sent by a
`send` of that campaign run with ``--include-answered``, may go to someone who answered; never
to someone who bounced or opted out, and a follow-up never.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CAMPAIGNS = {"alpha": "Research collaboration on", "beta": "A second question about"}  # subject openings
ANSWERED, BOUNCED, OPTED_OUT = "answered", "bounced", "opted out"


def wire_form(spelling: str) -> str:
    """The one form of an address: ``DR2@BÜCHER.example`` -> ``dr2@xn--bcher-kva.example``."""
    local, _, domain = spelling.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}".casefold()


def campaign_step(subject: str) -> tuple[str | None, int]:
    """``Re: A second question about ...`` -> ("beta", 1): each "Re: " is one follow-up."""
    step = 0
    while subject.startswith("Re: "):
        subject, step = subject[4:], step + 1
    return next((name for name, opening in CAMPAIGNS.items() if subject.startswith(opening)), None), step


@dataclass(frozen=True)
class Person:
    index: int
    spellings: tuple[str, ...]   # the first is how the first sheet writes the address


@dataclass(frozen=True)
class Command:
    step: int
    name: str
    campaign: str | None = None
    include_answered: bool = False


@dataclass(frozen=True)
class Stop:
    kind: str       # ANSWERED | BOUNCED | OPTED_OUT
    known_at: int   # the step from which the tool is expected to know it
    how: str        # "marked at step 3", "arrived at step 2, read by sync at step 4"


@dataclass
class Uncertain:
    """A message whose send was killed during DATA: the tool cannot know whether it left."""

    campaign: str
    step: int
    message_id: str
    delivered: bool   # the truth, as the user finds it in the Sent folder (the server's)


@dataclass(frozen=True)
class Delivery:
    """One recipient of one message the SMTP server accepted."""

    position: int            # in the server's list: the order of arrival
    rcpt: str
    person: int | None
    campaign: str | None
    step: int
    message_id: str


@dataclass(frozen=True)
class DraftCopy:
    """A draft the user could send by hand: an .eml file or a message in the IMAP Drafts folder."""

    where: str
    message_id: str
    rcpt: str
    subject: str


@dataclass(frozen=True)
class Row:
    campaign: str
    address: str
    step: int
    state: str


@dataclass
class StoreView:
    """What the tracking store says: its messages by Message-ID, its event sources, its suppressions."""

    rows: dict[str, Row] = field(default_factory=dict)
    events: set[str] = field(default_factory=set)
    suppressed: set[str] = field(default_factory=set)

    def state(self, message_id: str) -> str | None:
        row = self.rows.get(message_id)
        return row.state if row else None


class Model:
    """The people of one example, the commands run, what each person said and what is known."""

    def __init__(self, people: list[Person]):
        self.people = people
        self.by_wire = {wire_form(s): p.index for p in people for s in p.spellings}
        self.step = 0
        self.commands: dict[int, Command] = {}
        self.unread: list[tuple[int, str, int]] = []  # (person, kind, step) in the INBOX, not read by the tool yet
        self.stops: dict[int, list[Stop]] = {}
        self.uncertain: dict[int, Uncertain] = {}   # person -> their message cut off during DATA
        self.arrived_at: list[int] = []             # the step each server message arrived in, by position
        self.unsettled: set[int] = set()            # steps of a killed run no command has settled after yet
        self.confirmed: set[str] = set()            # found sent by a mailbox read since a command settled

    def person_of(self, address: str) -> int | None:
        return self.by_wire.get(wire_form(address))

    def begin(self, name: str, campaign: str | None = None, *, include_answered: bool = False,
              reads_mailbox: bool = False) -> None:
        """A new step; a command that reads the mailbox first learns everything that arrived."""
        self.step += 1
        self.commands[self.step] = Command(self.step, name, campaign, include_answered)
        if reads_mailbox:
            for person, kind, arrived in self.unread:
                self.know(person, kind, f"arrived at step {arrived}, read by {name} at step {self.step}")
            self.unread.clear()

    def arrives(self, person: int, kind: str) -> None:
        self.unread.append((person, kind, self.step))

    def know(self, person: int, kind: str, how: str = "") -> None:
        self.stops.setdefault(person, []).append(Stop(kind, self.step, how or f"marked at step {self.step}"))

    def killed(self) -> None:
        """A run died at this step; the next command that takes the outbox lock settles what it left."""
        self.unsettled.add(self.step)

    def settled(self) -> None:
        """A command took the outbox lock and finished: a dead run's leftovers are settled, and so
        are the drafts of messages a mailbox read found sent before it."""
        self.unsettled.clear()
        self.confirmed.clear()

    def found_sent(self, message_ids: set[str]) -> None:
        """A mailbox read (sync, or the one send and followup begin with) found these messages sent
        (in the Sent folder, or answered): their drafts go at the next command that takes the lock."""
        self.confirmed |= message_ids

    def note_arrivals(self, total: int) -> None:
        self.arrived_at += [self.step] * (total - len(self.arrived_at))


# -- the promises -------------------------------------------------------------------------------
class Twice(AssertionError):
    """(a) Someone received the same message twice."""


class Stranger(AssertionError):
    """(a) A message went to an address no sheet holds."""


class AfterStop(AssertionError):
    """(b) A message after a known answer, bounce or opt-out, not explicitly included."""


class DraftLeft(AssertionError):
    """(c) A draft remains for a message that was sent."""


class UnknownDraft(AssertionError):
    """(c) A draft exists that the store does not know: nothing can remove it once its message is sent."""


class NotRecognised(AssertionError):
    """(one identity) The user's word about a person (mark, resolve) was refused under another
    spelling of their address, although the store holds what it is about."""


class FactLost(AssertionError):
    """(d) Something the tool recorded, or the server received, is no longer known to the store."""


class TwoIdentities(AssertionError):
    """(one identity) The store keeps an address in a form that is not its identity, or one
    person's message twice under two spellings."""


def never_twice(deliveries: list[Delivery]) -> None:
    for d in deliveries:
        if d.person is None or d.campaign is None:
            raise Stranger(f"message {d.message_id} to {d.rcpt} is not one of the campaigns' messages to a contact")
    by_id = Counter(d.message_id for d in deliveries)
    by_message = Counter((d.person, d.campaign, d.step) for d in deliveries)
    for message_id, count in by_id.items():
        if count > 1:
            raise Twice(f"Message-ID {message_id} was received {count} times")
    for (person, campaign, step), count in by_message.items():
        if count > 1:
            ids = [d.message_id for d in deliveries if (d.person, d.campaign, d.step) == (person, campaign, step)]
            raise Twice(f"person {person} received {campaign} step {step} {count} times ({', '.join(ids)})")


def nothing_after_stop(model: Model, deliveries: list[Delivery]) -> None:
    for d in deliveries:
        at = model.arrived_at[d.position]
        command = model.commands[at]
        for stop in model.stops.get(d.person, []):
            if stop.known_at > at:
                continue
            included = (stop.kind == ANSWERED and d.step == 0 and command.name == "send"
                        and command.include_answered and command.campaign == d.campaign)
            if not included:
                raise AfterStop(f"person {d.person} {stop.kind} ({stop.how}) but received "
                                f"{d.campaign} step {d.step} at step {at} ({command.name} {command.campaign or ''}"
                                f"{' --include-answered' if command.include_answered else ''}), {d.message_id}")


def no_draft_of_a_sent_message(model: Model, drafts: list[DraftCopy], deliveries: list[Delivery],
                               store: StoreView) -> None:
    received_ids = {d.message_id for d in deliveries}
    received = {(d.person, d.campaign, d.step) for d in deliveries}
    # A run killed between the server's 250 and removing the draft cannot have removed it, and a
    # mailbox read that finds a message sent does not remove drafts: the next command that takes
    # the outbox lock must (until then the draft is owed, not lost).
    owed = {d.message_id for d in deliveries if model.arrived_at[d.position] in model.unsettled} | model.confirmed
    for draft in drafts:
        state = store.state(draft.message_id)
        if state is None:
            raise UnknownDraft(f"{draft.where}: a draft to {draft.rcpt} whose Message-ID {draft.message_id} "
                               "the store does not know")
        if state in ("sending", "uncertain"):
            continue  # the user is told to check the Sent folder; `resolve ... sent` removes the draft
        if draft.message_id in owed:
            continue
        if state == "sent" or draft.message_id in received_ids:
            raise DraftLeft(f"{draft.where}: the draft of {draft.message_id} to {draft.rcpt} remains, "
                            f"but it was sent (store: {state})")
        key = (model.person_of(draft.rcpt), *campaign_step(draft.subject))
        if key in received:
            raise DraftLeft(f"{draft.where}: a draft of {key[1]} step {key[2]} to {draft.rcpt} ({draft.message_id}) "
                            "remains, but that person received that message already")


def one_identity(model: Model, store: StoreView) -> None:
    """Every address the store keeps is in its one form, and one person has one row per message."""
    seen: dict[tuple, str] = {}
    for message_id, row in store.rows.items():
        if row.address != wire_form(row.address) or model.person_of(row.address) is None:
            raise TwoIdentities(f"{message_id}: the store keeps {row.address!r}, not a contact's one form")
        key = (row.campaign, model.person_of(row.address), row.step)
        if key in seen:
            raise TwoIdentities(f"{row.campaign} step {row.step} to person {key[1]} is two rows: "
                                f"{seen[key]} and {message_id}")
        seen[key] = message_id
    for address in store.suppressed:
        if address != wire_form(address):
            raise TwoIdentities(f"the suppression of {address!r} is not under the address's one form")


class Ledger:
    """(d) What the store once recorded stays recorded: every message that was sent or may have
    been (sending, uncertain) stays so, sent stays sent, no event or suppression disappears, and
    every message the server received is recorded sent or uncertain. (A row of a message that
    never left, queued or claimed, may go; nothing outside the store points at it. A draft's row
    is held by (c): its draft still points at it.)"""

    LEFT = ("sent", "sending", "uncertain")

    def __init__(self):
        self.left: dict[str, Row] = {}
        self.sent: set[str] = set()
        self.events: set[str] = set()
        self.suppressed: set[str] = set()

    def settled_unsent(self, message_id: str) -> None:
        """The user checked: an uncertain message did not leave (it may be queued again)."""
        self.left.pop(message_id, None)

    def check(self, store: StoreView, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            state = store.state(d.message_id)
            if state not in self.LEFT:
                raise FactLost(f"the server received {d.message_id} ({d.campaign} step {d.step} to {d.rcpt}) "
                               f"but the store says {state or 'nothing of it'}")
        for message_id, row in self.left.items():
            if store.state(message_id) not in self.LEFT:
                raise FactLost(f"{message_id} ({row.campaign} step {row.step} to {row.address}) was recorded "
                               f"{row.state}, now {store.state(message_id) or 'not at all'}")
        for message_id in self.sent:
            if store.state(message_id) != "sent":
                raise FactLost(f"{message_id} was recorded sent, now {store.state(message_id) or 'not at all'}")
        if lost := self.events - store.events:
            raise FactLost(f"recorded events are gone: {sorted(lost)}")
        if lost := self.suppressed - store.suppressed:
            raise FactLost(f"suppressions are gone: {sorted(lost)}")
        self.left.update({m: row for m, row in store.rows.items() if row.state in self.LEFT})
        self.sent |= {m for m, row in store.rows.items() if row.state == "sent"}
        self.events |= store.events
        self.suppressed |= store.suppressed
