"""The CSV must be byte-identical for the same history and policy (DESIGN.md §7)."""

import random
from datetime import date, datetime

from services.scoring.domain import (
    CSV_COLUMNS,
    ActivityRecord,
    UnitRecord,
    compute_report,
    load_policy,
    to_csv,
)

POLICY = load_policy()
NOW = datetime.fromisoformat("2023-12-31T00:00+07:00")


def at(text):
    return datetime.fromisoformat(text)


def history():
    units = [
        UnitRecord("dinkes", "Dinas Kesehatan", "dinas", date(2021, 1, 1), None),
        UnitRecord("kec-kota", "Kecamatan Kota, Kediri", "kecamatan", date(2021, 1, 1), None),
        UnitRecord("bappeda", "Badan Perencanaan", "badan", date(2021, 1, 1), None),
    ]
    activities = [
        ActivityRecord(
            "a1",
            "dinkes",
            at("2023-11-10T09:00+07:00"),
            at("2023-11-06T10:00+07:00"),
            "held",
            at("2023-11-10T15:00+07:00"),
            "public",
            None,
            1,
            ("e3", "e1"),
        ),
        ActivityRecord(
            "a2",
            "kec-kota",
            at("2023-11-10T09:00+07:00"),
            at("2023-11-09T10:00+07:00"),
            "planned",
            None,
            "internal",
            None,
            0,
            ("e2",),
        ),
    ]
    return units, activities


EXPECTED = (
    ",".join(CSV_COLUMNS) + "\n"
    "2023-11,compliance-v1,1,dinkes,Dinas Kesehatan,dinas,85.00,apresiasi,"
    "100.00,100.00,100.00,0.00,100.00,1,0,1,1,1,1,1,missing,0,0,e1 e3\n"
    '2023-11,compliance-v1,2,kec-kota,"Kecamatan Kota, Kediri",kecamatan,35.29,peringatan,'
    "100.00,0.00,0.00,0.00,,1,0,0,1,0,0,0,missing,0,0,e2\n"
    "2023-11,compliance-v1,3,bappeda,Badan Perencanaan,badan,0.00,peringatan,"
    "0.00,,,0.00,,0,0,0,0,0,0,0,missing,0,0,\n"
)


def test_csv_matches_the_hand_computed_report():
    units, activities = history()
    assert to_csv(compute_report(POLICY, "2023-11", units, activities, [], now=NOW)) == EXPECTED


def test_csv_is_byte_identical_whatever_the_input_order():
    units, activities = history()
    first = to_csv(compute_report(POLICY, "2023-11", units, activities, [], now=NOW))
    rng = random.Random(2023)
    for _ in range(5):
        rng.shuffle(units)
        rng.shuffle(activities)
        again = to_csv(compute_report(POLICY, "2023-11", units, activities, [], now=NOW))
        assert again.encode("utf-8") == first.encode("utf-8")


def test_csv_has_no_timestamps_and_unix_line_endings():
    units, activities = history()
    as_of = at("2023-12-30T08:15:00+07:00")
    text = to_csv(compute_report(POLICY, "2023-11", units, activities, [], as_of=as_of))
    assert "\r" not in text
    assert text.endswith("\n")
    assert "2023-12-30" not in text and "08:15" not in text
    assert text == EXPECTED  # as_of after all events: same figures as "now"


def test_csv_rows_follow_rank():
    units, activities = history()
    report = compute_report(POLICY, "2023-11", units, activities, [], now=NOW)
    lines = to_csv(report).splitlines()
    assert [line.split(",")[2] for line in lines[1:]] == ["1", "2", "3"]
    assert lines[0].split(",") == list(CSV_COLUMNS)
