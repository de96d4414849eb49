"""python -m services.newsroom api | consume | relay | migrate | dlq list|redrive |
rules | asyncapi | new-epoch"""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.cli import stop_on_signals
from shared.logging import configure, get_logger
from shared.settings import Settings, load

from . import bootstrap


async def _consume(settings: Settings, prefetch: int) -> None:
    from .messaging import run_consumer

    service = await bootstrap.build(settings)
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        await run_consumer(service, stop, prefetch)
    finally:
        await service.close()


async def _relay(settings: Settings) -> None:
    from .messaging import run_relay

    await bootstrap.migrate(settings)
    stop = asyncio.Event()
    stop_on_signals(stop)
    await run_relay(settings, stop)


def _api(settings: Settings) -> None:
    from shared.cli import serve_api

    from .api import create_app

    serve_api(settings, bootstrap.build, create_app)


async def _dlq(settings: Settings, action: str) -> None:
    from shared import dlq_cli

    from .messaging import declare_topology

    await dlq_cli.run(settings, action, declare_topology)


def _rules() -> None:
    from rich.console import Console
    from rich.table import Table

    from .rules import load_neutrality, load_rules

    rules_path, neutrality_path = bootstrap.config_paths()
    rules, neutrality = load_rules(rules_path), load_neutrality(neutrality_path)
    table = Table(title=f"Aturan publikasi {rules.version} ({rules_path})")
    for header in ("Aturan", "Berlaku bila", "Jenis", "Kanal", "Tenggat"):
        table.add_column(header)
    for rule in rules.rules:
        when = _describe(rule.when)
        due = rule.due.model_dump(exclude_defaults=True)
        table.add_row(rule.id, when, rules.kinds[rule.kind].label, rules.channels[rule.channel],
                      ", ".join(f"{k}={v}" for k, v in due.items()))
    console = Console()
    console.print(table)
    console.print(f"Daftar netralitas {neutrality.version}: {len(neutrality.terms)} istilah, "
                  f"{len(neutrality.patterns)} pola ({neutrality_path}).")


def _describe(when) -> str:
    parts = []
    if when.visibility:
        parts.append({"public": "publik", "internal": "internal"}[when.visibility])
    if when.categories:
        parts.append("kategori " + ", ".join(when.categories))
    if when.exclude_categories:
        parts.append("kecuali " + ", ".join(when.exclude_categories))
    if when.leaders_any:
        parts.append("dihadiri " + " / ".join(when.leaders_any))
    return "; ".join(parts) or "semua kegiatan"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.newsroom",
                                     description="SI-MALIK newsroom service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the HTTP API (port 8002 by default)")
    consume = sub.add_parser("consume", help="consume the agenda's activity events")
    consume.add_argument("--prefetch", type=int, default=16,
                         help="unacknowledged messages (and open transactions) at once")
    sub.add_parser("relay", help="publish stored events to RabbitMQ")
    sub.add_parser("migrate", help="create or update the database schema")
    sub.add_parser("new-epoch", help="give the store a new epoch after restoring a backup")
    sub.add_parser("rules", help="check and show the publication and neutrality rules")
    sub.add_parser("asyncapi", help="print the AsyncAPI document (JSON)")
    dlq = sub.add_parser("dlq", help="messages that could not be processed")
    dlq.add_argument("action", choices=["list", "redrive"])
    args = parser.parse_args(argv)

    settings = load("newsroom")
    configure("newsroom", settings.log_level)
    log = get_logger()
    try:
        if args.command == "api":
            _api(settings)
        elif args.command == "consume":
            asyncio.run(_consume(settings, args.prefetch))
        elif args.command == "relay":
            asyncio.run(_relay(settings))
        elif args.command == "migrate":
            asyncio.run(bootstrap.migrate(settings))
        elif args.command == "new-epoch":
            from shared.cli import new_epoch

            asyncio.run(new_epoch(settings))
        elif args.command == "rules":
            _rules()
        elif args.command == "asyncapi":
            from .messaging import asyncapi

            print(asyncapi(settings).to_specification().to_json())
        elif args.command == "dlq":
            asyncio.run(_dlq(settings, args.action))
    except (OSError, ConnectionError) as exc:
        log.error("cannot reach a dependency", error=str(exc))
        print(f"Tidak dapat terhubung: {exc}. Periksa AMQP_URL dan NEWSROOM_DATABASE_URL.",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
