"""Staff-facing formatting (Bahasa Indonesia, WIB) and the as_of parameter."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from services.scoring.dashboard import nama_periode, persen, tanggal, waktu
from services.scoring.reports import parse_as_of, year_bounds


def test_percentages_use_the_indonesian_decimal_comma():
    assert persen(Decimal("73.12")) == "73,12 %"
    assert persen(Decimal("100.00")) == "100,00 %"
    assert persen(Decimal("1234.5")) == "1.234,5 %"
    assert persen(None) == "—"


def test_times_are_shown_in_wib():
    assert waktu(datetime.fromisoformat("2023-11-30T16:30:00+00:00")) == "30 Nov 2023 23.30 WIB"
    assert waktu(None) == "—"
    assert tanggal(date(2023, 8, 17)) == "17 Agustus 2023"


@pytest.mark.parametrize("label, name", [("2023-11", "November 2023"),
                                         ("2023-Q4", "Triwulan IV 2023"),
                                         ("2023", "Tahun 2023")])
def test_period_names(label, name):
    assert nama_periode(label) == name


def test_as_of_without_offset_is_wib_and_a_date_is_the_end_of_that_day():
    assert parse_as_of("2023-11-30T08:00") == datetime.fromisoformat("2023-11-30T08:00+07:00")
    assert parse_as_of("2023-11-30T01:00:00Z") == datetime.fromisoformat(
        "2023-11-30T08:00+07:00")
    end = parse_as_of("2023-11-30")
    assert end == datetime.fromisoformat("2023-12-01T00:00+07:00") - timedelta(microseconds=1)
    assert parse_as_of(None) is None and parse_as_of(" ") is None
    with pytest.raises(ValueError):
        parse_as_of("kemarin")


def test_a_year_is_bounded_by_wib_midnights():
    first, end = year_bounds(2023)
    assert first == datetime.fromisoformat("2023-01-01T00:00+07:00")
    assert end == datetime.fromisoformat("2024-01-01T00:00+07:00")
