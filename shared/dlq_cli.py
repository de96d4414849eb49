"""`python -m services.<name> dlq list | redrive`: the dead-lettered messages of
a consumer, with the errors the consumer recorded for them (DESIGN §5)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.table import Table

from . import db
from .consumer import dlq_list, dlq_redrive
from .settings import Settings

REASONS = {"rejected": "ditolak (galat permanen)",
           "delivery_limit": "batas pengiriman tercapai",
           "expired": "kedaluwarsa", "maxlen": "antrean penuh"}


async def run(settings: Settings, action: str,
              declare_topology: Callable[[Settings], Awaitable[None]]) -> None:
    console = Console()
    await declare_topology(settings)  # a DLQ that was never declared is simply empty
    if action == "redrive":
        moved = await dlq_redrive(settings.amqp_url, settings, {})
        console.print(f"{moved} pesan dikirim kembali ke antrean asalnya.")
        return
    pool = await db.create_pool(settings.database_url, max_size=2)
    try:
        rows = await dlq_list(pool, settings.amqp_url, settings)
    finally:
        await pool.close()
    if not rows:
        console.print(f"Antrean {settings.queue('dlq')} kosong.")
        return
    table = Table(title=f"Pesan di {settings.queue('dlq')} ({len(rows)})", show_lines=True)
    for header in ("ID pesan", "Peristiwa", "Alasan broker", "Galat tercatat", "Percobaan"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(row["message_id"] or "-", _what(row["body"]),
                      REASONS.get(row["reason"] or "", row["reason"] or "-"),
                      row["error"] or "(tidak tercatat)",
                      "-" if row["attempts"] is None else str(row["attempts"]))
    console.print(table)
    console.print(f"Kirim kembali dengan: python -m services.{settings.service} dlq redrive")


def _what(body: str) -> str:
    """The event's type and subject when the body is a CloudEvent, else its start."""
    try:
        ce = json.loads(body)
        return f"{ce['type']}\n{ce['subject']}"
    except (ValueError, KeyError, TypeError):
        # dlq_list cuts bodies at 200 characters, so a CloudEvent is rarely whole.
        found = dict(re.findall(r'"(type|subject)":"([^"]*)"', body))
        if found:
            return "\n".join(found[k] for k in ("type", "subject") if k in found)
        return body[:60] or "(kosong)"
