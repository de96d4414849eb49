"""python -m services.scoring api | consume | rebuild [--policy FILE] | csv --period P
| migrate | dlq list | dlq redrive"""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.cli import stop_on_signals
from shared.logging import configure, get_logger
from shared.settings import load

from . import bootstrap


def _api() -> None:
    from shared.cli import serve_api

    from .api import create_app

    serve_api(load("scoring"), bootstrap.build, create_app)


async def _consume() -> None:
    from faststream.rabbit import RabbitBroker

    from shared import metrics
    from shared.consumer import keep_catching_up, report_stats

    from . import handlers, messaging

    settings = load("scoring")
    service = await bootstrap.build(settings)
    metrics.serve(settings.metrics_port, settings.http_host)
    stop = asyncio.Event()
    stop_on_signals(stop)
    await messaging.declare_topology(settings)
    broker = RabbitBroker(settings.amqp_url)
    inboxes = handlers.inboxes(service.pool)
    messaging.wire(broker, settings, inboxes)
    await broker.start()
    get_logger().info("consuming", queues=[settings.queue(q) for q in messaging.QUEUES])
    # Events published before our queues existed are read from the history feeds.
    feeds = {"agenda": settings.agenda_url, "newsroom": settings.newsroom_url}
    catching_up = [asyncio.create_task(keep_catching_up(inboxes[source], feeds[source],
                                                        binding, stop))
                   for source, binding in messaging.QUEUES.values()]
    try:
        while not stop.is_set():
            await report_stats(service.pool, settings, list(messaging.QUEUES))
            try:
                await asyncio.wait_for(stop.wait(), 10)
            except TimeoutError:
                pass
    finally:
        for task in catching_up:
            task.cancel()
        await broker.stop()
        await service.close()


async def _rebuild(args: argparse.Namespace) -> int:
    from .feeds import FeedError
    from .progress import RichProgress
    from .projections import ProjectionError
    from .rebuild import RebuildBusy

    settings = load("scoring")
    service = await bootstrap.build(settings)
    try:
        from . import messaging

        try:
            await messaging.declare_topology(settings)
        except OSError as exc:
            print(f"Peringatan: antrean scoring belum dapat dipastikan ada ({exc}); peristiwa "
                  "yang terbit sebelum konsumen berjalan hanya tertangkap oleh rebuild "
                  "berikutnya.", file=sys.stderr)
        with RichProgress() as progress:
            job = bootstrap.rebuild(service, bootstrap.feeds(settings), args.policy,
                                    args.page_size, progress)
            try:
                outcome = await job.run(restart=args.restart)
            except RebuildBusy:
                print("Rebuild lain sedang berjalan; tunggu sampai selesai.", file=sys.stderr)
                return 3
            except (FeedError, ProjectionError) as exc:
                print(f"Rebuild berhenti: {exc}. Halaman yang sudah tersimpan tidak hilang; "
                      "jalankan perintah ini lagi untuk melanjutkan.", file=sys.stderr)
                return 2
        positions = ", ".join(f"{k} {v}" for k, v in outcome.positions.items())
        print(f"Selesai: generasi {outcome.generation} aktif dengan kebijakan "
              f"{job.policy_version} ({outcome.events} peristiwa dibaca"
              f"{', dilanjutkan' if outcome.resumed else ''}; posisi {positions}).")
        if outcome.skipped:
            print(f"{outcome.skipped} peristiwa berjenis tidak dikenal dilewati.")
        return 0
    finally:
        await service.close()


async def _csv(args: argparse.Namespace) -> int:
    from .domain import to_csv
    from .reports import parse_as_of, snapshot

    service = await bootstrap.build(load("scoring"))
    try:
        snap = await snapshot(service.pool, args.period, parse_as_of(args.as_of))
        sys.stdout.write(to_csv(snap.report()))
    finally:
        await service.close()
    return 0


async def _dlq(action: str) -> int:
    from shared import dlq_cli

    from .messaging import declare_topology

    await dlq_cli.run(load("scoring"), action, declare_topology)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .domain import DEFAULT_POLICY_PATH
    from .rebuild import DEFAULT_PAGE_SIZE

    parser = argparse.ArgumentParser(prog="python -m services.scoring",
                                     description="SI-MALIK scoring service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the HTTP API and dashboard (port 8003 by default)")
    sub.add_parser("consume", help="consume agenda and newsroom events")
    sub.add_parser("migrate", help="create or update the database schema")
    rebuild = sub.add_parser("rebuild", help="rebuild the projection from the history feeds")
    rebuild.add_argument("--policy", default=str(DEFAULT_POLICY_PATH),
                         help="compliance policy file for the rebuilt generation")
    rebuild.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                         help="events per feed page (one transaction each)")
    rebuild.add_argument("--restart", action="store_true",
                         help="discard an unfinished rebuild instead of resuming it")
    csv = sub.add_parser("csv", help="print the compliance CSV of a period")
    csv.add_argument("--period", required=True, help="YYYY-MM, YYYY-Qn or YYYY")
    csv.add_argument("--as-of", default=None, help="ISO date or datetime (WIB by default)")
    dlq = sub.add_parser("dlq", help="inspect or redrive dead-lettered messages")
    dlq.add_argument("action", choices=["list", "redrive"])
    args = parser.parse_args(argv)

    settings = load("scoring")
    configure("scoring", settings.log_level)
    log = get_logger()
    try:
        if args.command == "api":
            _api()
        elif args.command == "consume":
            asyncio.run(_consume())
        elif args.command == "migrate":
            asyncio.run(bootstrap.migrate(settings))
        elif args.command == "rebuild":
            return asyncio.run(_rebuild(args))
        elif args.command == "csv":
            return asyncio.run(_csv(args))
        elif args.command == "dlq":
            return asyncio.run(_dlq(args.action))
    except (OSError, ConnectionError) as exc:
        log.error("cannot reach a dependency", error=str(exc))
        print(f"Tidak dapat terhubung: {exc}. Periksa AMQP_URL, SCORING_DATABASE_URL, "
              "AGENDA_URL dan NEWSROOM_URL.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
