"""P5: scoring's rebuild from a million stored events, against a raw read of them.

The history (bench/history.py: 93 units, twelve years of agenda, a smaller
newsroom) is COPY-loaded into fresh agenda and newsroom databases; their APIs
run as processes on free ports and `python -m services.scoring rebuild` runs as
a process against them, as staff would run it. Its wall time and peak RSS
(VmHWM, sampled every 50 ms) are measured from outside.

Baseline: the same stored events read straight from both databases with asyncpg
in pages of 5000 by position, each body decoded with json.loads.

Alternating on a million events: the rebuild is cut into BENCH_P5_ROUNDS
segments of equal page count. Each but the last is killed with SIGKILL after
its pages (SIMALIK_FAULT=rebuild.after_page:N, the documented crash point) and
the next run resumes from the committed checkpoint; the last one runs to the
swap and cleanup. After each segment the raw reader reads exactly the
positions that segment covered, so every round compares subject and baseline
on the same events, close together in time. The rebuild's total is the sum of
its segments, restarts included (each restart pays a process start, which only
makes the subject look slower). BENCH_P5_ROUNDS=1 is one uninterrupted rebuild.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import queue
import sys
import threading
import time

import asyncpg
import httpx

from deploy import supervise
from deploy.cluster import Cluster, delete_prefixed
from shared import db
from shared.settings import load

from . import history
from .common import AMQP, PG, Row, alternate

EVENTS = int(os.environ.get("BENCH_P5_EVENTS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_P5_ROUNDS", "3"))
PAGE = 5000  # the rebuild's default page, and the raw reader's
DATABASES = "simalik_bench_p5"
PREFIX = "bench."
CHUNK = 2 << 20  # bytes of COPY text per chunk handed from the generator to the loader
APIS = [p for p in supervise.PROCESSES if p[2] == "api" and p[1] != "services.scoring"]


def _url(service: str) -> str:
    return f"{PG}/{DATABASES}_{service}"


# -- loading ----------------------------------------------------------------------------


def _produce(sim: history.Simulation, queues: dict[str, queue.Queue], abort: threading.Event,
             sample: list) -> None:
    """In a thread: runs the simulation, hands chunks of COPY text to each store's queue."""
    buffers: dict[str, list[str]] = {name: [] for name in queues}
    sizes = dict.fromkeys(queues, 0)

    def put(name: str, item: bytes | None) -> None:
        while not abort.is_set():
            try:
                queues[name].put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    try:
        for store, line in sim.run():
            buffers[store].append(line)
            sizes[store] += len(line)
            if len(sample) < 20000 or (store == "newsroom" and len(sample) < 30000):
                sample.append((store, line))
            if sizes[store] >= CHUNK:
                put(store, "".join(buffers[store]).encode())
                buffers[store].clear()
                sizes[store] = 0
                if abort.is_set():
                    return
        for store, lines in buffers.items():
            if lines:
                put(store, "".join(lines).encode())
    finally:
        for store in queues:
            put(store, None)


async def _copy(url: str, chunks: queue.Queue) -> int:
    """One COPY into a table truncated in the same transaction, so it loads FROZEN:
    hint bits are set at load, and neither the rebuild nor the raw reader pays for
    them later."""

    async def source():
        while (chunk := await asyncio.to_thread(chunks.get)) is not None:
            yield chunk

    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("TRUNCATE events RESTART IDENTITY")
            # The unique constraints are built once after the COPY (a sorted build)
            # rather than row by row: same schema after, a fraction of the load time.
            uniques = await conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
                " WHERE conrelid = 'events'::regclass AND contype = 'u'")
            for u in uniques:
                await conn.execute(f'ALTER TABLE events DROP CONSTRAINT "{u["conname"]}"')
            await conn.copy_to_table("events", source=source(), columns=history.COLUMNS,
                                     format="text", freeze=True)
            for u in uniques:
                await conn.execute(f'ALTER TABLE events ADD CONSTRAINT "{u["conname"]}" {u["def"]}')
        await conn.execute("ANALYZE events")
        return await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()


async def _load(spec: history.Spec) -> tuple[dict[str, int], history.Simulation]:
    from services.agenda import bootstrap as agenda
    from services.newsroom import bootstrap as newsroom

    for service, boot in (("agenda", agenda), ("newsroom", newsroom)):
        await db.drop_database(_url(service))
        await boot.migrate(load(service, database_url=_url(service)))
    sim = history.Simulation(spec)
    queues = {name: queue.Queue(maxsize=8) for name in ("agenda", "newsroom")}
    abort, sample = threading.Event(), []
    producer = threading.Thread(target=_produce, args=(sim, queues, abort, sample), daemon=True)
    producer.start()
    try:
        counts = await asyncio.gather(*(_copy(_url(name), q) for name, q in queues.items()))
    except BaseException:
        abort.set()
        raise
    finally:
        await asyncio.to_thread(producer.join)
    # The rebuild validates every event; a sample proves here that the history is valid
    # (a mistake would otherwise show as events the rebuild leaves out).
    history.check(sample)
    return dict(zip(queues, counts, strict=True)), sim


# -- the processes ------------------------------------------------------------------------


async def _start_apis(env: dict[str, str]) -> list:
    children = await supervise.start(APIS, env=env, quiet=True)
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        for name, module, _ in APIS:
            service = module.rsplit(".", 1)[1]
            port = env[f"{service.upper()}_HTTP_PORT"]
            while True:
                if any(p.returncode is not None for _, p in children):
                    raise RuntimeError(f"{name} ended early")
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after 60 s")
                await asyncio.sleep(0.2)
    return children


def _hwm_mb(pid: int) -> float | None:
    """Peak resident set so far (VmHWM), which catches peaks between samples."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _rebuild(env: dict[str, str], pages: int | None) -> tuple[float, float, float, str]:
    """Runs `python -m services.scoring rebuild` (killed after `pages` pages if
    given); returns wall seconds, peak RSS in MB, the epoch time it ended and its
    output."""
    extra = {"SIMALIK_FAULT": f"rebuild.after_page:{pages}"} if pages else {}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.scoring", "rebuild",
        env={**os.environ, **env, **extra, "COLUMNS": "100"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output = asyncio.create_task(proc.stdout.read())
    peak = 0.0
    while proc.returncode is None:
        peak = max(peak, _hwm_mb(proc.pid) or 0.0)
        try:
            await asyncio.wait_for(proc.wait(), 0.05)
        except TimeoutError:
            pass
    seconds, ended = time.perf_counter() - started, time.time()
    text = (await output).decode(errors="replace")
    expected = -9 if pages else 0
    if proc.returncode != expected:
        raise RuntimeError(f"rebuild exited with {proc.returncode} (expected {expected}):\n"
                           f"{text[-2000:]}")
    return seconds, peak, ended, text


async def _positions(url: str) -> tuple[dict[str, int], float | None]:
    """The positions the newest generation has reached per source (its checkpoint
    while building, its cut-off once current), and when its swap began."""
    conn = await asyncpg.connect(url)
    try:
        newest = "(SELECT max(generation) FROM generations)"
        rows = await conn.fetch(
            f"SELECT source, position FROM feed_positions WHERE generation = {newest}")
        swapped = await conn.fetchval(
            f"SELECT extract(epoch FROM swapped_at) FROM generations WHERE generation = {newest}")
    finally:
        await conn.close()
    return ({r["source"].rsplit("/", 1)[1]: r["position"] for r in rows},
            None if swapped is None else float(swapped))


async def _raw(ranges: dict[str, tuple[int, int]]) -> tuple[int, float]:
    """Reads the events in (start, end] of each store in pages of PAGE by position and
    decodes each body; returns (events, seconds)."""
    n, started = 0, time.perf_counter()
    for store, (start, end) in ranges.items():
        if end <= start:
            continue
        conn = await asyncpg.connect(_url(store))  # no codecs: jsonb arrives as text
        try:
            after = start
            while after < end:
                rows = await conn.fetch(
                    "SELECT position, stream_id, version, event_id, type, schema_version,"
                    " recorded_at, data, metadata FROM events"
                    " WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3",
                    after, end, PAGE)
                if not rows:
                    break
                for row in rows:
                    json.loads(row["data"])
                n += len(rows)
                after = rows[-1]["position"]
        finally:
            await conn.close()
    return n, time.perf_counter() - started


# -- the suite ----------------------------------------------------------------------------


async def p5() -> Row:
    """The suite; a failure becomes a failed row, so the rows before it still print."""
    try:
        return await _p5()
    except Exception as exc:  # noqa: BLE001 — reported in the row and on stderr
        import traceback

        traceback.print_exc()
        return Row("P5", "scoring rebuild from stored history (events/s), processes",
                   target="≥ 50 % of raw; peak RSS ≤ 200 MB", met=False,
                   note=f"FAILED: {exc!r}"[:500])


async def _p5() -> Row:
    suite_started = time.perf_counter()
    spec = history.Spec(total=EVENTS)
    cluster = Cluster.local(pg=PG, amqp=AMQP, prefix=PREFIX, databases=DATABASES, ports=True,
                            LOG_LEVEL="WARNING")
    env = cluster.env
    children: list = []
    try:
        t0 = time.perf_counter()
        counts, sim = await _load(spec)
        load_seconds = time.perf_counter() - t0
        total = sum(counts.values())
        print(f"  P5: {total:,} events loaded in {load_seconds:.0f} s ({counts})",
              file=sys.stderr)
        await db.drop_database(_url("scoring"))
        from services.scoring import bootstrap as scoring

        await scoring.migrate(load("scoring", database_url=_url("scoring")))
        children = await _start_apis(env)

        pages = sum(math.ceil(n / PAGE) for n in counts.values())
        rounds = max(1, min(ROUNDS, pages))
        per = math.ceil(pages / rounds)
        state = {"round": 0, "at": {s: 0 for s in counts}, "ranges": {}, "seconds": [],
                 "peak": 0.0, "events": [], "skipped": False, "swap": float("nan")}

        async def subject() -> float:
            state["round"] += 1
            last = state["round"] == rounds
            seconds, peak, ended, text = await _rebuild(env, None if last else per)
            reached, swapped = await _positions(_url("scoring"))
            if last and swapped is not None:
                state["swap"] = ended - swapped
            ranges = {s: (state["at"][s], reached.get(s, state["at"][s])) for s in counts}
            state["at"] = {s: r[1] for s, r in ranges.items()}
            state["ranges"] = ranges
            events = sum(b - a for a, b in ranges.values())
            state["seconds"].append(seconds)
            state["events"].append(events)
            state["peak"] = max(state["peak"], peak)
            # Events the rebuild leaves out are logged as warnings ("... left out") and
            # counted in its last line ("... dilewati").
            state["skipped"] |= "left out" in text or "dilewati" in text
            print(f"  P5 round {state['round']}: rebuild {events:,} events in {seconds:.1f} s"
                  f" ({events / seconds:,.0f}/s), peak RSS {peak:.0f} MB", file=sys.stderr)
            return events / seconds

        async def raw() -> float:
            n, seconds = await _raw(state["ranges"])
            print(f"  P5 round {state['round']}: raw {n:,} events in {seconds:.1f} s"
                  f" ({n / seconds:,.0f}/s)", file=sys.stderr)
            return n / seconds

        _, bases, ratios = await alternate(subject, {"raw_asyncpg_json": raw}, rounds=rounds)
        rebuilt = sum(state["events"])
        if rebuilt != total or state["at"] != counts:
            raise RuntimeError(f"the rebuild reached {state['at']}, not {counts}")
        rebuild_seconds = sum(state["seconds"])
        value = total / rebuild_seconds
    finally:
        await supervise.stop(children)
        for service in ("agenda", "newsroom", "scoring"):
            await db.drop_database(_url(service))
        await delete_prefixed(AMQP, PREFIX)  # the rebuild declared scoring's queues
    ratio = ratios["raw_asyncpg_json"]["median"]
    peak = state["peak"]
    stats = sim.stats
    how = ("one uninterrupted run" if rounds == 1 else
           f"{rounds} segments of {per} pages (the last the rest), each killed at its last "
           "page and resumed by the next (restarts counted); raw over the same positions "
           "after each")
    note = (f"{counts['agenda']:,} agenda + {counts['newsroom']:,} newsroom events "
            f"({stats.activities:,} activities, {stats.tasks:,} tasks, 93 units), COPY-loaded; "
            f"`services.scoring rebuild` process reading the two APIs; {how}"
            + ("; SOME EVENTS WERE LEFT OUT as invalid" if state["skipped"] else ""))
    return Row("P5", "scoring rebuild from stored history (events/s), processes", value,
               "events/s", bases, ratios, "≥ 50 % of raw; peak RSS ≤ 200 MB",
               ratio >= 0.5 and peak <= 200, note=note,
               extra={"peak RSS MB": peak, "rebuild s": rebuild_seconds,
                      "of which swap, cleanup, exit s": state["swap"],
                      "load s": load_seconds,
                      "suite s": time.perf_counter() - suite_started})


SUITES = [p5]
