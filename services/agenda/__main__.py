"""python -m services.agenda api | relay | migrate | import FILE | asyncapi | new-epoch |
erase-person ID"""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.cli import stop_on_signals
from shared.logging import configure, get_logger
from shared.settings import load

from . import bootstrap


async def _relay() -> None:
    from shared import metrics
    from shared.relay import Relay

    settings = load("agenda")
    await bootstrap.migrate(settings)
    metrics.serve(settings.metrics_port, settings.http_host)
    stop = asyncio.Event()
    stop_on_signals(stop)
    await Relay(settings).run(stop)


def _api() -> None:
    from shared.cli import serve_api

    from .api import create_app

    serve_api(load("agenda"), bootstrap.build, create_app)


async def _erase_person(person_id: str) -> None:
    service = await bootstrap.build()
    try:
        done = await service.pool.execute(
            "UPDATE people SET name = NULL, phone = NULL, email = NULL, erased_at = now()"
            " WHERE id = $1 AND erased_at IS NULL", person_id)
    finally:
        await service.close()
    print("Data pribadi dihapus." if done.endswith("1") else "Tidak ada data untuk id itu.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.agenda",
                                     description="SI-MALIK agenda service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the HTTP API (port 8001 by default)")
    sub.add_parser("relay", help="publish stored events to RabbitMQ")
    sub.add_parser("migrate", help="create or update the database schema")
    sub.add_parser("asyncapi", help="print the AsyncAPI document (JSON)")
    sub.add_parser("new-epoch", help="give the store a new epoch after restoring a backup")
    erase = sub.add_parser("erase-person", help="erase a person's contact details (UU PDP)")
    erase.add_argument("person_id")
    imp = sub.add_parser("import", help="import activities from a CSV or XLSX file")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check every row, record nothing")
    imp.add_argument("--units", help="register the units of this CSV first (code,name,kind,...)")
    imp.add_argument("--active-from", default=None,
                     help="business date from which imported units count as active")
    args = parser.parse_args(argv)

    settings = load("agenda")
    configure("agenda", settings.log_level)
    log = get_logger()
    try:
        if args.command == "api":
            _api()
        elif args.command == "relay":
            asyncio.run(_relay())
        elif args.command == "migrate":
            asyncio.run(bootstrap.migrate(settings))
        elif args.command == "asyncapi":
            from .messaging import asyncapi

            print(asyncapi(settings).to_specification().to_json())
        elif args.command == "new-epoch":
            from shared.cli import new_epoch

            asyncio.run(new_epoch(settings))
        elif args.command == "erase-person":
            asyncio.run(_erase_person(args.person_id))
        elif args.command == "import":
            from .importer import run_import

            return asyncio.run(run_import(args))
    except (OSError, ConnectionError) as exc:
        log.error("cannot reach a dependency", error=str(exc))
        print(f"Tidak dapat terhubung: {exc}. Periksa AMQP_URL dan AGENDA_DATABASE_URL.",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
