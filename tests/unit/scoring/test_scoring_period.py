"""Periods and which units are active in them."""

from datetime import date, datetime

import pytest

from services.scoring.domain import UnitRecord, parse_period


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2023-11", date(2023, 11, 1), date(2023, 11, 30)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2023-12", date(2023, 12, 1), date(2023, 12, 31)),
        ("2023-Q1", date(2023, 1, 1), date(2023, 3, 31)),
        ("2023-Q4", date(2023, 10, 1), date(2023, 12, 31)),
        ("2023", date(2023, 1, 1), date(2023, 12, 31)),
    ],
)
def test_parse_period(text, first, last):
    period = parse_period(text)
    assert (period.label, period.first, period.last, period.year) == (text, first, last, first.year)


@pytest.mark.parametrize(
    "text",
    ["2023-13", "2023-00", "2023-1", "2023-Q5", "2023-q1", "23-11", "2023-11-01", "", "２０２３"],
)
def test_bad_periods_are_refused(text):
    with pytest.raises(ValueError):
        parse_period(text)


def unit(active_from, active_until=None):
    return UnitRecord("u", "Unit", "dinas", active_from, active_until)


NOVEMBER = parse_period("2023-11")


@pytest.mark.parametrize(
    ("active_from", "active_until", "active"),
    [
        (date(2021, 1, 1), None, True),
        (date(2021, 1, 1), date(2023, 10, 31), False),  # closed the day before
        (date(2021, 1, 1), date(2023, 11, 1), True),  # active on the first day, inclusive
        (date(2023, 11, 30), None, True),  # registered on the last day
        (date(2023, 12, 1), None, False),  # registered the day after
        (date(2023, 11, 10), date(2023, 11, 20), True),  # inside
        (date(2023, 1, 1), date(2024, 12, 31), True),  # around
    ],
)
def test_unit_active_when_business_dates_overlap(active_from, active_until, active):
    assert unit(active_from, active_until).active_during(NOVEMBER.first, NOVEMBER.last) is active


def test_unit_dates_are_checked():
    with pytest.raises(ValueError, match="before"):
        unit(date(2023, 11, 2), date(2023, 11, 1))
    with pytest.raises(ValueError, match="must be a date"):
        unit(datetime(2023, 11, 2, 8, 0))
