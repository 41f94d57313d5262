"""`outreach due`: where each interviewer of the log stands, most urgent first.

A row's state comes from the log and the clock (upcoming, skipped by policy) and then from
the store: a message to the interviewer's address made from a log row with the same
interview date (the store keeps each message's CSV row) is the thank-you, drafted or sent; a
reply from that address since it went out is a reply. Mentor emails to the same person, made
from another sheet, are not mistaken for it.
Without any, the note is due until its deadline and overdue after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from outreach.clock import describe_age, parse_time
from outreach.compose.contacts import Contact, ContactFile, Problem
from outreach.compose.interviews import (
    LOG_COLUMNS,
    Interview,
    InterviewLog,
    Season,
    describe_moment,
)
from outreach.config import Settings, allows_test_domains
from outreach.errors import UserError, where
from outreach.feedback import SILENT, Feedback
from outreach.output import plural
from outreach.store import Store

# most urgent first; within a state, the earliest deadline (or interview) first
STATES = ("overdue", "due", "drafted", "upcoming", "sent", "replied", "skipped")
# message states that count as "drafted": written, queued, or cut off while sending (`send` and
# `status` say what to do about those); a failed one is still due
IN_HAND = ("drafted", "queued", "claimed", "sending", "uncertain")


@dataclass
class Entry:
    """One interviewer: the state of their thank-you and the moments it depends on."""

    state: str
    interview: Interview
    deadline: datetime | None
    campaign: str | None = None     # of the drafted or sent thank-you
    at: datetime | None = None      # when it was drafted, sent, or answered

    @property
    def fields(self) -> dict[str, str]:
        return self.interview.contact.fields

    @property
    def email(self) -> str:
        return self.interview.contact.email or self.fields.get("email", "")

    def sort_key(self) -> tuple:
        """By state, then the earliest deadline (or interview), then the line."""
        moment = self.deadline or self.interview.start
        return STATES.index(self.state), moment.timestamp() if moment else float("inf"), self.interview.contact.line


@dataclass
class DueList:
    path: Path
    season: Season
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        return {state: sum(1 for e in self.entries if e.state == state) for state in STATES}


def due_list(settings: Settings, path: Path, *, within: str | None = None,
             campaign: str | None = None, feedback: Feedback = SILENT) -> DueList:
    """Every row of the log with its state. A bad date, time or zone stops it, once every row
    was read: each bad row is told to ``feedback`` (file, line, column)."""
    season = Season.from_settings(settings.raw, within)
    contacts = ContactFile(path, test_domains=allows_test_domains(settings.raw))
    for note in contacts.notes + contacts.unused_notes(LOG_COLUMNS):
        feedback.note(note)
    log = InterviewLog.of(contacts, season)
    if "interview_date" not in log.columns:
        raise UserError(f"{where(path, 1)}: no interview_date column; `due` reads an interview log "
                        "(program, interviewer, email, interview_date, ...)")
    store = Store(settings.db) if settings.db.exists() else None
    entries, bad = [], 0
    try:
        for contact in contacts:
            interview = log.read(contact)
            errors = undated(interview)
            if errors:
                feedback.problems(Undated(contact, errors), str(path))
                bad += 1
            elif not bad:
                entries.append(entry_for(interview, season, store, campaign))
    finally:
        if store is not None:
            store.close()
    feedback.end_problems()
    if bad:
        raise UserError(f"{path}: {plural(bad, 'row')} cannot be dated (listed above); fix them and run again")
    entries.sort(key=Entry.sort_key)
    return DueList(path, season, entries)


@dataclass
class Undated:
    """A row :func:`due_list` cannot date, as it is told to the feedback."""

    contact: Contact
    problems: list[Problem]
    skip: None = None


def undated(interview: Interview) -> list[Problem]:
    """What keeps a row from being dated: a bad date, time or zone, or no date at all (nothing,
    for a program that takes no notes: its row is skipped whatever it says)."""
    if interview.policy:
        return []
    errors = [p for p in interview.problems if p.severity == "error"]
    if interview.over_at is None and not errors:
        errors.append(Problem("error", interview.contact.line, "interview_date",
                              "empty; every interview needs its date"))
    return errors


def entry_for(interview: Interview, season: Season, store: Store | None, campaign: str | None) -> Entry:
    """The row's state, for a row :func:`undated` has nothing against."""
    if interview.policy:
        return Entry("skipped", interview, None)
    over_at = interview.over_at
    assert over_at is not None, "undated() refuses a row without a date"
    deadline = over_at + season.within
    if season.now < over_at:
        return Entry("upcoming", interview, deadline)
    found = thank_you_of(store, interview, campaign) if store and interview.contact.email else None
    if found is not None:
        state, name, at = found
        return Entry(state, interview, deadline, name, at)
    return Entry("overdue" if season.now >= deadline else "due", interview, deadline)


def thank_you_of(store: Store, interview: Interview,
                 campaign: str | None) -> tuple[str, str, datetime | None] | None:
    """(drafted | sent | replied, campaign, when) of the thank-you to this interviewer, if any
    (when is None only if a hand-edited store holds an unreadable time)."""
    day = interview.contact.fields.get("interview_date")
    best: tuple[str, str, datetime | None] | None = None
    for row in store.messages_to(interview.contact.email):
        if row.step or (campaign and row.campaign != campaign) or row.contact.get("interview_date") != day:
            continue
        created = parse_time(row.created_at)
        if row.state == "sent":
            sent = parse_time(row.sent_at) or created
            replied = store.first_reply_since(row.address, sent) if sent else None
            return ("replied", row.campaign, replied) if replied else ("sent", row.campaign, sent)
        if row.state in IN_HAND:
            best = ("drafted", row.campaign, created)
    return best


def describe(entry: Entry, season: Season) -> str:
    """The words after the state: when, and what is left to do."""
    interview, now = entry.interview, season.now
    if entry.state == "skipped":
        return interview.skip_reason(now) or ""
    start, due_at = interview.start, entry.deadline
    assert start is not None and due_at is not None, "entry_for dates every row it does not skip"
    when = interview.describe()
    if entry.state == "upcoming":
        yours = ""
        local = start.astimezone(season.user_zone)
        if interview.timed and start.utcoffset() != local.utcoffset():
            text = describe_moment(local)
            yours = f" ({text.split(', ', 1)[1] if local.date() == start.date() else text} your time)"
        if now >= start:
            return f"interview {when}{yours}, now"
        return f"interview {when}{yours}, in {describe_age(start - now, precise=True)}"
    deadline = describe_moment(due_at.astimezone(season.user_zone))
    if entry.state == "due":
        return f"interviewed {when}; thank-you due by {deadline} (in {describe_age(due_at - now, precise=True)})"
    if entry.state == "overdue":
        return f"interviewed {when}; thank-you was due {deadline} ({describe_age(now - due_at, precise=True)} ago)"
    if entry.state == "drafted":
        by = f"it was due {deadline}" if now >= due_at else f"due by {deadline}"
        return f"interviewed {when}; drafted (campaign {entry.campaign}), not sent: {by}"
    on = f" {describe_moment(entry.at.astimezone(season.user_zone), timed=False)}" if entry.at else ""
    return f"interviewed {when}; {entry.state}{on} (campaign {entry.campaign})"


def as_json(entry: Entry, season: Season) -> dict:
    interview = entry.interview
    return {"state": entry.state, "line": interview.contact.line, "program": entry.fields.get("program", ""),
            "interviewer": entry.fields.get("interviewer", ""), "role": entry.fields.get("role", ""),
            "email": entry.email,
            "interview_start": interview.start.isoformat() if interview.start else None,
            "interview_time_known": interview.timed, "time_zone": interview.zone_label or None,
            "deadline": entry.deadline.isoformat() if entry.deadline else None,
            "campaign": entry.campaign, "at": entry.at.isoformat() if entry.at else None,
            "detail": describe(entry, season)}
