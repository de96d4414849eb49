"""Compliance rules of the scoring service: pure functions, no I/O but the policy file."""

from .calendar import WIB, WorkingCalendar, wib_date
from .compliance import (
    PROGNOSIS_LATE,
    PROGNOSIS_MISSING,
    PROGNOSIS_NOT_DUE,
    PROGNOSIS_ON_TIME,
    TIER_APRESIASI,
    TIER_NORMAL,
    TIER_PERINGATAN,
    Components,
    Counts,
    Report,
    UnitRow,
    compute_report,
    percent,
    tier_for,
)
from .export import CSV_COLUMNS, to_csv
from .period import Period, parse_period
from .policy import DEFAULT_POLICY_PATH, POLICY_DIR, Policy, load_policy, parse_policy
from .records import ActivityRecord, PrognosisRecord, UnitRecord

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_POLICY_PATH",
    "POLICY_DIR",
    "PROGNOSIS_LATE",
    "PROGNOSIS_MISSING",
    "PROGNOSIS_NOT_DUE",
    "PROGNOSIS_ON_TIME",
    "TIER_APRESIASI",
    "TIER_NORMAL",
    "TIER_PERINGATAN",
    "WIB",
    "ActivityRecord",
    "Components",
    "Counts",
    "Period",
    "Policy",
    "PrognosisRecord",
    "Report",
    "UnitRecord",
    "UnitRow",
    "WorkingCalendar",
    "compute_report",
    "load_policy",
    "parse_period",
    "parse_policy",
    "percent",
    "tier_for",
    "to_csv",
    "wib_date",
]
