"""Reading the interview log: dates as people write them, times, zones, policies."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from outreach.compose.contacts import Contact
from outreach.compose.interviews import (
    InterviewLog,
    Season,
    parse_clock_time,
    parse_date,
    refuses_contact,
)
from outreach.errors import UserError

DEC_1 = date(2026, 12, 1)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-28", date(2026, 11, 28)), ("11/28/2026", date(2026, 11, 28)), ("28/11/2026", date(2026, 11, 28)),
    ("Nov 12", date(2026, 11, 12)), ("November 12, 2026", date(2026, 11, 12)), ("12 November 2026", date(2026, 11, 12)),
    ("12 Nov", date(2026, 11, 12)), ("Sept 30", date(2026, 9, 30)), ("03/03/2026", date(2026, 3, 3)),
    ("Jan 14", date(2027, 1, 14)),  # in December, a January interview is next month's
    ("3rd December 2026", date(2026, 12, 3)),
    ("11/28", date(2026, 11, 28)), ("28.11.26", date(2026, 11, 28)), ("1/14", date(2027, 1, 14)),
])
def test_dates_as_logs_write_them(text, expected):
    assert parse_date(text, order=None, today=DEC_1) == expected


def test_an_ambiguous_date_needs_the_order():
    with pytest.raises(ValueError, match="ambiguous.*OUTREACH_DATE_ORDER"):
        parse_date("03/04/2026", order=None, today=DEC_1)
    assert parse_date("03/04/2026", order="MDY", today=DEC_1) == date(2026, 3, 4)
    assert parse_date("03/04/2026", order="DMY", today=DEC_1) == date(2026, 4, 3)


@pytest.mark.parametrize("text", ["2026-02-30", "Smarch 3", "13/13/2026", "next Tuesday", "Nov"])
def test_what_is_not_a_date_is_said(text):
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        parse_date(text, order=None, today=DEC_1)


@pytest.mark.parametrize("text, hour, minute", [("09:00", 9, 0), ("9am", 9, 0), ("2:30 PM", 14, 30),
                                                ("12 pm", 12, 0), ("12:15 a.m.", 0, 15), ("14:30", 14, 30)])
def test_times(text, hour, minute):
    moment = parse_clock_time(text)
    assert (moment.hour, moment.minute) == (hour, minute)


@pytest.mark.parametrize("text", ["9", "25:00", "noon-ish", "9:75"])
def test_bad_times(text):
    with pytest.raises(ValueError):
        parse_clock_time(text)


@pytest.mark.parametrize("policy, refuses", [
    ("no contact", True), ("No post-interview communication", True), ("no thank-you notes", True),
    ("NO THANK YOU EMAILS PLEASE", True), ("Please do not contact faculty after the interview", True),
    ("thank-you notes welcome", False), ("thank-you notes not required", False), ("", False),
    ("no preference", False), ("contact the coordinator with questions", False),
])
def test_policies(policy, refuses):
    assert refuses_contact(policy) is refuses


def season(now: str, zone: str = "America/New_York") -> Season:
    return Season.from_settings({"now": now, "time_zone": zone})


def read(cells: dict, now: str = "2026-12-01T15:00:00Z", rows=()):
    fields = {"program": "P", "email": "a@example.edu", **cells}
    log = InterviewLog(fields, season(now), [fields, *rows])
    return log.read(Contact(2, fields, email="a@example.edu"))


def test_an_interview_is_upcoming_until_an_hour_after_it_starts():
    cells = {"interview_date": "Dec 3", "interview_time": "09:00", "time_zone": "MST"}
    assert read(cells, "2026-12-03T15:59:00Z").skip_reason(season("2026-12-03T15:59:00Z").now) \
        == "not yet: interview on Dec 3, 09:00 MST"
    during = season("2026-12-03T16:30:00Z").now  # 09:30 in Denver
    assert read(cells).skip_reason(during).startswith("not yet")
    after = season("2026-12-03T17:00:00Z").now
    assert read(cells).skip_reason(after) is None


def test_a_day_without_a_time_is_over_at_midnight_in_the_programs_zone():
    interview = read({"interview_date": "2026-11-30", "time_zone": "Asia/Kolkata"})
    assert interview.over_at == datetime(2026, 11, 30, 18, 30, tzinfo=timezone.utc)
    assert interview.describe() == "Nov 30"


def test_across_the_daylight_saving_change():
    # 2026-11-01: New York falls back at 02:00; an interview at 09:00 is EST (UTC-5), not EDT.
    interview = read({"interview_date": "2026-11-01", "interview_time": "9:00 AM", "time_zone": "ET"})
    assert interview.start.astimezone(timezone.utc) == datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc)
    assert interview.describe() == "Nov 1, 09:00 EST"
    day_before = read({"interview_date": "2026-10-31", "interview_time": "9:00 AM", "time_zone": "ET"})
    assert day_before.start.utcoffset() == timedelta(hours=-4)


def test_no_zone_is_the_users_own():
    interview = read({"interview_date": "2026-12-02", "interview_time": "10:00"})
    assert interview.start.tzinfo == ZoneInfo("America/New_York")


def test_bad_cells_are_problems_naming_their_column():
    interview = read({"interview_date": "2026-13-01", "time_zone": "Mars/Olympus", "interview_time": "soon"})
    assert {p.field for p in interview.problems} == {"interview_date", "time_zone"}
    interview = read({"interview_date": "2026-12-01", "interview_time": "soon"})
    assert [p.field for p in interview.problems] == ["interview_time"] and interview.problems[0].line == 2


def test_one_no_contact_row_skips_its_whole_program():
    other = {"program": "p ", "email": "b@example.edu", "contact_policy": "No contact after interview day"}
    interview = read({"interview_date": "2026-11-01", "contact_policy": ""}, rows=[other])
    assert interview.skip_reason(season("2026-12-01T00:00:00Z").now).startswith("no contact")


def test_settings_are_checked():
    with pytest.raises(UserError, match="OUTREACH_DATE_ORDER"):
        Season.from_settings({"date_order": "YMD"})
    with pytest.raises(UserError, match="OUTREACH_TIME_ZONE"):
        Season.from_settings({"time_zone": "Nowhere/Land"})
