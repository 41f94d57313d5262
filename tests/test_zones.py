"""Time zones as people write them: the name decides the zone, the date decides the offset."""

from datetime import datetime, timedelta

import pytest

from outreach.zones import parse_zone

JULY, JANUARY = datetime(2026, 7, 1, 12), datetime(2026, 1, 15, 12)


@pytest.mark.parametrize("text, winter, summer", [
    ("ET", -5, -4), ("EST", -5, -4), ("edt", -5, -4), ("Eastern", -5, -4), ("Eastern Time", -5, -4),
    ("CT", -6, -5), ("CDT", -6, -5), ("Central", -6, -5),
    ("MT", -7, -6), ("MST", -7, -6), ("Arizona", -7, -7),
    ("PT", -8, -7), ("PST", -8, -7), ("Pacific", -8, -7),
    ("America/Chicago", -6, -5), ("Europe/Berlin", 1, 2), ("Asia/Kolkata", 5.5, 5.5),
    ("UTC", 0, 0), ("GMT", 0, 0), ("UTC+05:30", 5.5, 5.5), ("UTC-4", -4, -4), ("+0530", 5.5, 5.5),
    ("GMT+1", 1, 1), ("UTC−03:00", -3, -3),
])
def test_zone_names_and_offsets(text, winter, summer):
    zone = parse_zone(text)
    assert JANUARY.replace(tzinfo=zone).utcoffset() == timedelta(hours=winter)
    assert JULY.replace(tzinfo=zone).utcoffset() == timedelta(hours=summer)


@pytest.mark.parametrize("text", ["", "Mars/Olympus", "XYZ", "UTC+15", "UTC+05:75", "../../etc/passwd"])
def test_what_is_not_a_zone_is_said_in_a_sentence(text):
    with pytest.raises(ValueError) as refused:
        parse_zone(text)
    assert "time zone" in str(refused.value) or "offset" in str(refused.value)


def test_the_users_zone_is_the_setting_else_the_systems_with_its_rules(monkeypatch):
    from zoneinfo import ZoneInfo

    from outreach.errors import UserError
    from outreach.zones import user_zone

    assert user_zone({"time_zone": "PT"}) == ZoneInfo("America/Los_Angeles")
    with pytest.raises(UserError, match="OUTREACH_TIME_ZONE"):
        user_zone({"time_zone": "Atlantis"})
    monkeypatch.setenv("TZ", "Europe/Berlin")
    zone = user_zone({})
    assert JANUARY.replace(tzinfo=zone).utcoffset() != JULY.replace(tzinfo=zone).utcoffset()  # not a fixed offset
