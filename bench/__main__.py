"""`make bench`: runs the benchmark suite, prints a table, writes bench/results.json."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import appends
from .common import Row, machine

RESULTS = Path(__file__).parent / "results.json"


def suites():
    yield appends.p1
    yield appends.p2
    try:
        from . import pipeline
    except ImportError:
        pipeline = None
    if pipeline:
        yield from pipeline.SUITES
    from . import rebuild  # P5

    yield from rebuild.SUITES


def render(rows: list[Row], info: dict[str, str]) -> None:
    console = Console()
    console.print(f"Mesin: {info['cores']} core, Python {info['python']}, PostgreSQL "
                  f"{info['postgresql']}, RabbitMQ {info['rabbitmq']}")
    table = Table(title="SI-MALIK benchmarks")
    for col in ("id", "measure", "subject", "baselines", "ratio median (min–max)", "target", "met"):
        table.add_column(col)
    for row in rows:
        bases = "\n".join(f"{k}: {v:,.0f}" for k, v in row.baselines.items())
        ratios = "\n".join(f"{k}: {r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"
                           for k, r in row.ratios.items())
        extra = "\n".join(f"{k}: {v:,.1f}" for k, v in row.extra.items())
        subject = f"{row.subject:,.0f} {row.unit}" if row.subject is not None else ""
        table.add_row(row.id, row.measure + (f"\n{row.note}" if row.note else ""),
                      "\n".join(x for x in (subject, extra) if x), bases, ratios, row.target,
                      {True: "yes", False: "NO", None: "—"}[row.met])
    console.print(table)


def main() -> int:
    info = machine()
    rows: list[Row] = []
    started = time.time()
    only = {a.upper() for a in sys.argv[1:]}

    async def run_all() -> None:
        # One event loop for all: P3, P4 and P6 share the running processes.
        for suite in suites():
            name = suite.__name__.upper()
            if only and name not in only:
                continue
            print(f"running {name} …", file=sys.stderr)
            rows.append(await suite())

    asyncio.run(run_all())
    RESULTS.write_text(json.dumps({"machine": info, "seconds": round(time.time() - started, 1),
                                   "rows": [r.as_dict() for r in rows]}, indent=2) + "\n")
    render(rows, info)
    print(f"ditulis ke {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
