"""The agenda's aggregates, in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.agenda.domain import Activity, Unit
from shared.aggregate import DomainError, InvalidState


def unit(**overrides) -> Unit:
    u = Unit()
    fields = dict(unit_code="dinkes", name="Dinas Kesehatan", kind="dinas",
                  active_from=date(2021, 1, 1))
    fields.update(overrides)
    u.register(**fields)
    u.version, u.pending = 1, []
    return u


def planned(starts="2030-01-01T08:00:00+07:00") -> Activity:
    a = Activity()
    a.plan(unit(), activity_id="a1", unit_code="dinkes", title="Rapat",
           starts_at=datetime.fromisoformat(starts),
           ends_at=datetime.fromisoformat(starts).replace(hour=10),
           category="rapat", visibility="public")
    return a


def test_unit_active_dates():
    u = unit(active_until=date(2022, 12, 31))
    assert u.is_active_on(date(2021, 1, 1)) and u.is_active_on(date(2022, 12, 31))
    assert not u.is_active_on(date(2020, 12, 31)) and not u.is_active_on(date(2023, 1, 1))
    with pytest.raises(DomainError) as info:
        unit(active_until=date(2020, 1, 1))
    assert info.value.field == "active_until"


def test_start_day_is_judged_in_wib():
    u = unit(active_from=date(2030, 1, 2))
    a = Activity()
    # 17:30 UTC on 1 January is 00:30 WIB on 2 January: the unit is active then.
    a.plan(u, activity_id="a", unit_code="dinkes", title="Apel pagi",
           starts_at=datetime(2030, 1, 1, 17, 30, tzinfo=UTC),
           ends_at=datetime(2030, 1, 1, 18, 30, tzinfo=UTC), category="rapat",
           visibility="internal")
    assert a.pending


def test_cancelled_activity_cannot_be_rescheduled_or_verified():
    a = planned()
    a.cancel("Hujan")
    with pytest.raises(InvalidState, match="cancelled"):
        a.reschedule(datetime(2030, 1, 2, 8, tzinfo=UTC), datetime(2030, 1, 2, 9, tzinfo=UTC),
                     None)
    with pytest.raises(InvalidState):
        a.verify("k1", None)


def test_held_activity_can_still_be_verified_once():
    a = planned("2022-01-01T08:00:00+07:00")
    a.report_held([], None, datetime.now(UTC))
    a.verify("kominfo-1", None)
    assert a.verified and a.status == "held"
    with pytest.raises(InvalidState, match="already verified"):
        a.verify("kominfo-1", None)


def test_held_cannot_be_reported_before_the_start():
    a = planned("2030-01-01T08:00:00+07:00")
    with pytest.raises(InvalidState, match="not started"):
        a.report_held([], None, datetime(2029, 12, 31, tzinfo=UTC))
