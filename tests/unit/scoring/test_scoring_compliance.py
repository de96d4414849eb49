"""Compliance figures per unit and for the city (DESIGN.md §8)."""

import decimal
import random
from datetime import date, datetime
from decimal import Decimal

import pytest

from services.scoring.domain import (
    PROGNOSIS_LATE,
    PROGNOSIS_MISSING,
    PROGNOSIS_NOT_DUE,
    PROGNOSIS_ON_TIME,
    ActivityRecord,
    PrognosisRecord,
    UnitRecord,
    compute_report,
    load_policy,
    percent,
    tier_for,
)

POLICY = load_policy()
LATE_2023 = datetime.fromisoformat("2023-12-31T12:00+07:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def unit(code, active_from=date(2021, 1, 1), active_until=None, events=()):
    return UnitRecord(code, f"Unit {code}", "dinas", active_from, active_until, events)


def activity(
    aid,
    unit_code,
    starts,
    recorded="2023-10-01T09:00+07:00",
    status="planned",
    reported=None,
    visibility="internal",
    item=None,
    published=0,
):
    return ActivityRecord(
        activity_id=aid,
        unit_code=unit_code,
        starts_at=at(starts),
        recorded_at=at(recorded),
        status=status,
        reported_at=at(reported) if reported else None,
        visibility=visibility,
        prognosis_item_id=item,
        published_count=published,
        event_ids=(f"ev-{aid}",),
    )


def prognosis(unit_code, submitted, items, year=2023):
    return PrognosisRecord(unit_code, year, at(submitted), tuple(items), (f"pg-{unit_code}",))


def row_of(report, code):
    (row,) = [r for r in report.rows if r.unit_code == code]
    return row


# --- the city's input rate --------------------------------------------------


def november_2023():
    """93 units active in November 2023, 68 of them with an activity starting then."""
    units = [unit(f"u{i:03d}") for i in range(1, 92)]
    units += [
        unit("baru", active_from=date(2023, 11, 30)),  # active on the last day
        unit("tutup", active_until=date(2023, 11, 1)),  # active on the first day
        unit("lama", active_until=date(2023, 10, 31)),  # not active
        unit("nanti", active_from=date(2023, 12, 1)),  # not active
    ]
    acts = [
        activity(f"a{i:03d}", f"u{i:03d}", f"2023-11-{i % 28 + 1:02d}T09:00+07:00")
        for i in range(1, 65)
    ]
    acts += [
        activity("a001b", "u001", "2023-11-20T09:00+07:00"),  # a second one counts once
        activity("a065", "u065", "2023-10-31T17:30Z"),  # 1 Nov 00:30 WIB
        activity(
            "a066",
            "u066",
            "2023-11-15T09:00+07:00",
            status="cancelled",
            reported="2023-11-10T09:00+07:00",
        ),  # entered, then cancelled: counts
        activity("a-baru", "baru", "2023-11-30T10:00+07:00"),
        activity("a-tutup", "tutup", "2023-11-01T08:00+07:00"),
        activity("a067", "u067", "2023-11-30T17:30Z"),  # 1 Dec WIB: not November
        activity("a068", "u068", "2023-10-31T16:59:59Z"),  # 31 Oct 23:59:59 WIB
        activity("a-lama", "lama", "2023-11-15T09:00+07:00"),
        activity("a-nanti", "nanti", "2023-11-15T09:00+07:00"),
    ]
    return units, acts


def test_input_rate_of_november_2023_is_73_12():
    units, acts = november_2023()
    report = compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023)
    assert report.units_active == 93
    assert report.units_with_input == 68
    assert report.input_rate == Decimal("73.12")
    assert str(report.input_rate) == "73.12"
    assert len(report.rows) == 93
    assert {"lama", "nanti"}.isdisjoint(r.unit_code for r in report.rows)
    assert row_of(report, "u066").components.input == Decimal("100.00")
    assert row_of(report, "u067").components.input == Decimal("0.00")


def test_input_rate_as_of_leaves_out_later_entries():
    units, acts = november_2023()
    acts = [a for a in acts if a.activity_id != "a-baru"]
    acts.append(
        activity("a-baru", "baru", "2023-11-30T10:00+07:00", recorded="2023-11-29T09:00+07:00")
    )
    as_of = at("2023-11-28T23:59+07:00")
    report = compute_report(POLICY, "2023-11", units, acts, [], as_of=as_of)
    assert (report.units_with_input, report.input_rate) == (67, Decimal("72.04"))
    assert report.now == as_of
    assert "ev-a-baru" not in row_of(report, "baru").evidence
    later = compute_report(POLICY, "2023-11", units, acts, [], as_of=at("2023-11-29T09:00+07:00"))
    assert later.units_with_input == 68


def test_no_active_unit_gives_no_rate():
    report = compute_report(POLICY, "2020-01", [unit("x", date(2021, 1, 1))], [], [], now=LATE_2023)
    assert (report.units_active, report.input_rate, report.rows) == (0, None, ())


# --- period membership by WIB date -------------------------------------------


def test_membership_uses_the_wib_start_date():
    units = [unit("a"), unit("b")]
    acts = [
        activity("late-evening", "a", "2023-11-30T23:30+07:00"),
        activity("utc-evening", "b", "2023-11-30T17:30Z"),
    ]
    nov = compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023)
    dec = compute_report(POLICY, "2023-12", units, acts, [], now=LATE_2023)
    assert [row_of(nov, c).counts.activities for c in "ab"] == [1, 0]
    assert [row_of(dec, c).counts.activities for c in "ab"] == [0, 1]
    q4 = compute_report(POLICY, "2023-Q4", units, acts, [], now=LATE_2023)
    assert [row_of(q4, c).counts.activities for c in "ab"] == [1, 1]


# --- timeliness -------------------------------------------------------------


def test_timeliness_counts_working_days_in_wib():
    acts = [
        # Mon 6 -> Fri 10 Nov: Tue, Wed, Thu. Timely.
        activity("t1", "a", "2023-11-10T09:00+07:00", recorded="2023-11-06T15:00+07:00"),
        # Tue 7 -> Fri 10: two days. Late.
        activity("t2", "a", "2023-11-10T09:00+07:00", recorded="2023-11-07T08:00+07:00"),
        # Mon 17:30 UTC is Tue 00:30 WIB: two days, though a UTC reading gives three.
        activity("t3", "a", "2023-11-10T09:00+07:00", recorded="2023-11-06T17:30Z"),
        # Fri 3 -> Thu 9: weekend skipped, Mon-Wed. Timely.
        activity("t4", "a", "2023-11-09T09:00+07:00", recorded="2023-11-03T16:00+07:00"),
        # Fri 22 Dec -> Fri 29 Dec: Natal and cuti bersama leave two days. Late.
        activity("t5", "a", "2023-12-29T09:00+07:00", recorded="2023-12-22T08:00+07:00"),
        # Entered after the start.
        activity("t6", "a", "2023-11-10T09:00+07:00", recorded="2023-11-10T10:00+07:00"),
    ]
    report = compute_report(POLICY, "2023-Q4", [unit("a")], acts, [], now=LATE_2023)
    row = row_of(report, "a")
    assert (row.counts.activities, row.counts.timely) == (6, 2)
    assert row.components.timeliness == Decimal("33.33")


def test_no_activities_means_no_timeliness_realisation_or_publication():
    report = compute_report(POLICY, "2023-11", [unit("a")], [], [], now=LATE_2023)
    c = row_of(report, "a").components
    assert (c.input, c.timeliness, c.realisation, c.publication) == (
        Decimal("0.00"),
        None,
        None,
        None,
    )


# --- realisation reporting ----------------------------------------------------


def realisation_activities():
    start = "2023-11-01T10:00+07:00"  # window closes at the end of 8 Nov WIB
    return [
        activity("r1", "a", start, status="held", reported="2023-11-08T23:59+07:00"),
        activity("r2", "a", start, status="held", reported="2023-11-08T17:30Z"),  # 9 Nov WIB
        activity("r3", "a", start, status="cancelled", reported="2023-10-30T09:00+07:00"),
        activity("r4", "a", start),  # never reported
        activity("r5", "a", "2023-11-15T10:00+07:00"),  # window open until 22 Nov
        activity("r6", "a", "2023-11-25T10:00+07:00"),  # not started yet on 20 Nov
    ]


@pytest.mark.parametrize(
    ("now", "due", "reported", "share"),
    [
        ("2023-11-20T12:00+07:00", 4, 2, Decimal("50.00")),  # r5 pending, r6 ahead
        ("2023-11-22T23:59+07:00", 4, 2, Decimal("50.00")),  # last day of r5's window
        ("2023-11-23T00:00+07:00", 5, 2, Decimal("40.00")),  # r5 now overdue
        ("2023-12-31T12:00+07:00", 6, 2, Decimal("33.33")),
    ],
)
def test_realisation_window(now, due, reported, share):
    report = compute_report(
        POLICY, "2023-11", [unit("a")], realisation_activities(), [], now=at(now)
    )
    row = row_of(report, "a")
    assert (row.counts.due, row.counts.reported) == (due, reported)
    assert row.components.realisation == share


def test_realisation_ignores_reports_made_after_as_of():
    # As of noon on 8 Nov, r1's report (23:59) is unknown and its window still open.
    report = compute_report(
        POLICY,
        "2023-11",
        [unit("a")],
        realisation_activities(),
        [],
        as_of=at("2023-11-08T12:00+07:00"),
    )
    row = row_of(report, "a")
    assert (row.counts.due, row.counts.reported) == (1, 1)  # only r3, cancelled in advance
    assert row.counts.cancelled == 1


def test_now_defaults_to_the_last_recorded_moment():
    acts = [
        activity("s", "a", "2023-11-01T10:00+07:00", recorded="2023-10-20T09:00+07:00"),
        activity("x", "b", "2023-11-30T10:00+07:00", recorded="2023-11-05T09:00+07:00"),
    ]
    report = compute_report(POLICY, "2023-11", [unit("a"), unit("b")], acts, [])
    assert report.now == at("2023-11-05T09:00+07:00")
    assert row_of(report, "a").components.realisation is None  # window still open
    acts.append(activity("y", "b", "2023-12-05T10:00+07:00", recorded="2023-11-20T09:00+07:00"))
    report = compute_report(POLICY, "2023-11", [unit("a"), unit("b")], acts, [])
    assert row_of(report, "a").components.realisation == Decimal("0.00")


# --- prognosis ----------------------------------------------------------------


def prognosis_case():
    units = [
        unit("p1"),
        unit("p2"),
        unit("p3"),
        unit("p4"),
        unit("p5", active_from=date(2023, 6, 1)),
    ]
    acts = [
        activity("i1", "p1", "2023-03-10T09:00+07:00", item="p1-1"),
        activity("i2", "p1", "2023-11-10T09:00+07:00", item="p1-2"),
        activity("i2b", "p1", "2023-11-11T09:00+07:00", item="p1-2"),  # same item again
        activity("i9", "p1", "2023-11-12T09:00+07:00", item="p1-9"),  # not forecast
        activity(
            "i3", "p1", "2024-01-10T09:00+07:00", item="p1-3", recorded="2023-12-01T09:00+07:00"
        ),  # next year's activity
        activity("j1", "p2", "2023-05-10T09:00+07:00", item="p2-1"),
    ]
    forecasts = [
        prognosis("p1", "2023-01-31T23:59+07:00", ["p1-1", "p1-2", "p1-3", "p1-4"]),
        prognosis("p2", "2023-01-31T17:30Z", ["p2-1", "p2-2"]),  # 1 Feb WIB: late
        prognosis("p4", "2023-01-05T09:00+07:00", []),
    ]
    return units, acts, forecasts


def test_prognosis_status_and_component():
    units, acts, forecasts = prognosis_case()
    report = compute_report(POLICY, "2023-11", units, acts, forecasts, now=LATE_2023)
    p1, p2, p3, p4, p5 = (row_of(report, c) for c in ("p1", "p2", "p3", "p4", "p5"))
    assert (p1.prognosis_status, p1.counts.prognosis_items, p1.counts.realised_items) == (
        PROGNOSIS_ON_TIME,
        4,
        2,
    )
    assert p1.components.prognosis == Decimal("75.00")  # 50 % on time + 50 % x 2/4
    assert (p2.prognosis_status, p2.components.prognosis) == (PROGNOSIS_LATE, Decimal("25.00"))
    assert (p3.prognosis_status, p3.components.prognosis) == (PROGNOSIS_MISSING, Decimal("0.00"))
    assert (p4.prognosis_status, p4.components.prognosis) == (PROGNOSIS_ON_TIME, Decimal("100.00"))
    # Registered in June: the January deadline could not apply to it.
    assert (p5.prognosis_status, p5.components.prognosis) == (PROGNOSIS_NOT_DUE, None)
    # Evidence includes the March activity that realised an item, not the 2024 one.
    assert {"ev-i1", "ev-i2", "pg-p1"} <= set(p1.evidence)
    assert "ev-i3" not in p1.evidence


def test_prognosis_not_due_before_the_deadline():
    units, acts, forecasts = prognosis_case()
    report = compute_report(
        POLICY, "2023-01", units, acts, forecasts, now=at("2023-01-31T23:00+07:00")
    )
    assert row_of(report, "p3").prognosis_status == PROGNOSIS_NOT_DUE
    after = compute_report(
        POLICY, "2023-01", units, acts, forecasts, now=at("2023-02-01T00:00+07:00")
    )
    assert row_of(after, "p3").prognosis_status == PROGNOSIS_MISSING


def test_prognosis_submitted_after_as_of_is_unknown():
    units, acts, forecasts = prognosis_case()
    report = compute_report(
        POLICY, "2023-11", units, acts, forecasts, as_of=at("2023-01-20T00:00+07:00"), now=LATE_2023
    )
    assert row_of(report, "p1").prognosis_status == PROGNOSIS_MISSING
    assert row_of(report, "p4").prognosis_status == PROGNOSIS_ON_TIME


# --- publication --------------------------------------------------------------


def test_publication_coverage():
    acts = [
        activity("c1", "a", "2023-11-10T09:00+07:00", visibility="public", published=1),
        activity("c2", "a", "2023-11-11T09:00+07:00", visibility="public"),
        activity(
            "c3",
            "a",
            "2023-11-12T09:00+07:00",
            visibility="public",
            status="cancelled",
            reported="2023-11-09T09:00+07:00",
        ),
        activity("c4", "a", "2023-11-13T09:00+07:00", visibility="internal"),
        activity("c5", "a", "2023-11-28T09:00+07:00", visibility="public"),  # still ahead
        activity("c6", "a", "2023-11-29T09:00+07:00", visibility="public", published=2),  # teaser
    ]
    report = compute_report(
        POLICY, "2023-11", [unit("a")], acts, [], now=at("2023-11-20T12:00+07:00")
    )
    row = row_of(report, "a")
    assert (row.counts.public, row.counts.published) == (3, 2)
    assert row.components.publication == Decimal("66.67")


# --- score, tiers, rank -------------------------------------------------------


def test_score_is_the_weighted_mean_of_applicable_components():
    acts = [activity("s1", "a", "2023-11-10T09:00+07:00", recorded="2023-11-09T09:00+07:00")]
    forecasts = [prognosis("b", "2023-01-10T09:00+07:00", [])]
    report = compute_report(
        POLICY, "2023-11", [unit("a"), unit("b"), unit("c")], acts, forecasts, now=LATE_2023
    )
    a, b, c = (row_of(report, code) for code in "abc")
    # a: input 100, timeliness 0, realisation 0 (never reported), prognosis 0 (missing);
    # publication does not apply: 3000 / 85.
    assert a.score == Decimal("35.29")
    # b: no activity, prognosis on time: 15 x 100 / (30 + 15).
    assert (b.components.input, b.score, b.tier) == (
        Decimal("0.00"),
        Decimal("33.33"),
        "peringatan",
    )
    assert c.score == Decimal("0.00")


def test_full_marks_and_tiers():
    acts = [
        activity(
            "f1",
            "a",
            "2023-11-10T09:00+07:00",
            recorded="2023-11-01T09:00+07:00",
            status="held",
            reported="2023-11-10T15:00+07:00",
            visibility="public",
            published=1,
        )
    ]
    forecasts = [prognosis("a", "2023-01-10T09:00+07:00", [])]
    report = compute_report(POLICY, "2023-11", [unit("a")], acts, forecasts, now=LATE_2023)
    assert (report.rows[0].score, report.rows[0].tier) == (Decimal("100.00"), "apresiasi")


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        ("100.00", "apresiasi"),
        ("85.00", "apresiasi"),
        ("84.99", "normal"),
        ("60.00", "normal"),
        ("59.99", "peringatan"),
        ("0.00", "peringatan"),
    ],
)
def test_tier_thresholds_are_inclusive(score, tier):
    assert tier_for(POLICY.tiers, Decimal(score)) == tier


def test_equal_scores_rank_by_unit_code():
    units = [unit(code) for code in ("dinsos", "bappeda", "camat-kota", "zz-top")]
    acts = [
        activity(f"e-{code}", code, "2023-11-10T09:00+07:00")
        for code in ("dinsos", "bappeda", "camat-kota")
    ]
    acts.append(
        activity(
            "best",
            "zz-top",
            "2023-11-10T09:00+07:00",
            status="held",
            reported="2023-11-10T15:00+07:00",
        )
    )
    for order in (units, list(reversed(units))):
        report = compute_report(POLICY, "2023-11", order, list(reversed(acts)), [], now=LATE_2023)
        assert [(r.rank, r.unit_code) for r in report.rows] == [
            (1, "zz-top"),
            (2, "bappeda"),
            (3, "camat-kota"),
            (4, "dinsos"),
        ]


def test_rounding_is_half_up_whatever_the_callers_decimal_context():
    assert percent(1, 32) == Decimal("3.13")  # 3.125; half-even would give 3.12
    assert percent(5, 32) == Decimal("15.63")
    assert percent(68, 93) == Decimal("73.12")
    units, acts = november_2023()
    with decimal.localcontext(decimal.Context(prec=3, rounding=decimal.ROUND_DOWN)):
        assert percent(5, 32) == Decimal("15.63")
        report = compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023)
    assert report.input_rate == Decimal("73.12")


def test_input_order_does_not_change_the_report():
    units, acts = november_2023()
    first = compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023)
    rng = random.Random(7)
    rng.shuffle(units)
    rng.shuffle(acts)
    assert compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023) == first


# --- evidence and input checks ----------------------------------------------------


def test_evidence_is_sorted_and_limited_to_the_unit_and_period():
    units = [unit("a", events=("unit-a",)), unit("b")]
    acts = [
        activity("z", "a", "2023-11-10T09:00+07:00"),
        activity("m", "a", "2023-11-11T09:00+07:00"),
        activity("oct", "a", "2023-10-11T09:00+07:00"),
        activity("other", "b", "2023-11-11T09:00+07:00"),
    ]
    report = compute_report(POLICY, "2023-11", units, acts, [], now=LATE_2023)
    assert row_of(report, "a").evidence == ("ev-m", "ev-z", "unit-a")


def test_duplicate_records_are_refused():
    a = activity("dup", "a", "2023-11-10T09:00+07:00")
    with pytest.raises(ValueError, match="duplicate activity"):
        compute_report(POLICY, "2023-11", [unit("a")], [a, a], [], now=LATE_2023)
    with pytest.raises(ValueError, match="duplicate unit"):
        compute_report(POLICY, "2023-11", [unit("a"), unit("a")], [], [], now=LATE_2023)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_report(POLICY, "2023-11", [unit("a")], [], [], as_of=datetime(2023, 12, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ActivityRecord(
            "x",
            "a",
            datetime(2023, 11, 1, 9),
            at("2023-10-01T09:00+07:00"),
            "planned",
            None,
            "public",
            None,
            0,
            (),
        )


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        activity("x", "a", "2023-11-10T09:00+07:00", status="done")
