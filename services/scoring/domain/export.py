"""The report as CSV: byte-identical for the same history and policy (DESIGN.md §7)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from .compliance import Report, UnitRow

# The column order is a contract with whoever opens the file: append, never reorder.
CSV_COLUMNS = (
    "period",
    "policy_version",
    "rank",
    "unit_code",
    "unit_name",
    "unit_kind",
    "score",
    "tier",
    "input",
    "timeliness",
    "realisation",
    "prognosis",
    "publication",
    "activities",
    "cancelled",
    "timely",
    "due",
    "reported",
    "public",
    "published",
    "prognosis_status",
    "prognosis_items",
    "realised_items",
    "evidence",
)


def _decimal(value: Decimal | None) -> str:
    # format 'f' never switches to exponent notation; None (not applicable) is empty.
    return "" if value is None else format(value, "f")


def _cells(report: Report, row: UnitRow) -> list[str]:
    c, n = row.components, row.counts
    return [
        report.period,
        report.policy_version,
        str(row.rank),
        row.unit_code,
        row.unit_name,
        row.unit_kind,
        _decimal(row.score),
        row.tier,
        _decimal(c.input),
        _decimal(c.timeliness),
        _decimal(c.realisation),
        _decimal(c.prognosis),
        _decimal(c.publication),
        str(n.activities),
        str(n.cancelled),
        str(n.timely),
        str(n.due),
        str(n.reported),
        str(n.public),
        str(n.published),
        row.prognosis_status,
        str(n.prognosis_items),
        str(n.realised_items),
        " ".join(row.evidence),
    ]


def to_csv(report: Report) -> str:
    """One row per unit in rank order; no timestamps, '\\n' line endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for row in sorted(report.rows, key=lambda r: r.rank):
        writer.writerow(_cells(report, row))
    return out.getvalue()
