"""WIB dates and working days: the base of timeliness."""

from datetime import date, datetime, timedelta

import holidays
import pytest

from services.scoring.domain import WorkingCalendar, load_policy, parse_policy, wib_date
from services.scoring.domain.calendar import SOURCE_LIBRARY, SOURCE_POLICY

POLICY = load_policy()


def calendar() -> WorkingCalendar:
    return POLICY.working_calendar()


def test_wib_date_at_the_day_boundary():
    assert wib_date(datetime.fromisoformat("2023-11-30T23:30+07:00")) == date(2023, 11, 30)
    assert wib_date(datetime.fromisoformat("2023-11-30T17:30Z")) == date(2023, 12, 1)
    assert wib_date(datetime.fromisoformat("2023-11-30T16:59:59Z")) == date(2023, 11, 30)


def test_wib_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        wib_date(datetime(2023, 11, 30, 23, 30))


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2023, 11, 6), date(2023, 11, 10), 3),  # Mon -> Fri: Tue, Wed, Thu
        (date(2023, 11, 7), date(2023, 11, 10), 2),  # Tue -> Fri
        (date(2023, 11, 3), date(2023, 11, 9), 3),  # Fri -> Thu: weekend skipped
        (date(2023, 11, 3), date(2023, 11, 8), 2),  # Fri -> Wed
        (date(2023, 11, 4), date(2023, 11, 6), 0),  # Sat -> Mon: only Sunday between
        (date(2023, 11, 6), date(2023, 11, 6), 0),  # same day
        (date(2023, 11, 6), date(2023, 11, 7), 0),  # next day
        (date(2023, 11, 10), date(2023, 11, 6), 0),  # recorded after the start
        (date(2023, 11, 1), date(2023, 12, 1), 21),  # all of November's working days
    ],
)
def test_working_days_strictly_between(first, last, expected):
    assert calendar().working_days_between(first, last) == expected


def test_christmas_holiday_and_cuti_bersama_are_skipped():
    cal = calendar()
    # Fri 22 Dec -> Fri 29 Dec 2023: Mon 25 is Natal, Tue 26 cuti bersama; Wed, Thu remain.
    assert cal.working_days_between(date(2023, 12, 22), date(2023, 12, 29)) == 2
    assert not cal.is_working_day(date(2023, 12, 26))
    assert cal.is_working_day(date(2023, 12, 27))
    # Cuti bersama is what a public-holidays-only calendar would miss.
    assert date(2023, 12, 26) not in holidays.country_holidays("ID", years=2023)


def test_idul_fitri_2024_week_has_no_working_day():
    # 8-9 Apr cuti bersama, 10-11 Idul Fitri, 12 and 15 Apr cuti bersama.
    assert calendar().working_days_between(date(2024, 4, 5), date(2024, 4, 16)) == 0


def test_election_day_2024_is_off():
    assert not calendar().is_working_day(date(2024, 2, 14))
    assert not calendar().is_working_day(date(2024, 11, 27))


def test_arithmetic_count_matches_day_by_day_count():
    cal = calendar()
    start = date(2023, 12, 1)
    for offset in range(0, 75):
        first = start + timedelta(days=offset)
        for span in range(0, 45):
            last = first + timedelta(days=span)
            naive = sum(1 for i in range(1, span) if cal.is_working_day(first + timedelta(days=i)))
            assert cal.working_days_between(first, last) == naive, (first, last)


def test_years_not_in_the_policy_fall_back_to_the_library():
    cal = calendar()
    assert cal.source(2023) == SOURCE_POLICY
    assert cal.source(2027) == SOURCE_LIBRARY
    # Tue 17 Aug 2027, Independence Day: nothing left between Monday and Wednesday.
    assert cal.working_days_between(date(2027, 8, 16), date(2027, 8, 18)) == 0
    library = holidays.country_holidays("ID", years=2027, categories=("public", "government"))
    assert cal.days_off(2027) == frozenset(library)
    assert cal.fallback_years == (2027,)


def test_pinned_years_do_not_consult_the_library():
    cal = calendar()
    cal.working_days_between(date(2023, 1, 1), date(2025, 12, 31))
    assert cal.fallback_years == ()


def test_a_pinned_year_replaces_the_library_entirely():
    policy = parse_policy(
        """
version: "test"
weights: {input: 20, timeliness: 20, realisation: 20, prognosis: 20, publication: 20}
tiers: {apresiasi: 85, normal: 60}
calendar:
  years:
    2023:
      decree: test
      public: {2023-08-17: Kemerdekaan}
"""
    )
    cal = policy.working_calendar()
    assert cal.is_working_day(date(2023, 12, 25))  # the library would say Christmas
    assert not cal.is_working_day(date(2023, 8, 17))
    assert not cal.is_working_day(date(2024, 12, 25))  # 2024 not pinned: library


def test_policy_pins_2021_to_2025():
    assert sorted(POLICY.calendar.years) == [2021, 2022, 2023, 2024, 2025]
    for year, listed in POLICY.calendar.years.items():
        assert date(year, 8, 17) in listed.public
        assert date(year, 12, 25) in listed.public
