"""`make demo`: Kediri's real units and activities through all three services.

Starts agenda, newsroom and scoring as OS processes, imports data/kediri-*.csv
through the agenda, walks some activities through the newsroom's workflow,
waits for scoring to settle and prints the compliance report per year. Ends on
its own (or on Ctrl-C) and leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from .cluster import DEFAULT_AMQP, DEFAULT_PG, Cluster, answers

ROOT = Path(__file__).resolve().parent.parent
console = Console()
TIERS = {"apresiasi": "[green]apresiasi[/]", "normal": "normal",
         "peringatan": "[red]peringatan[/]"}


def check_services(pg: str, amqp: str) -> str | None:
    missing = []
    if not answers(pg, 5432):
        missing.append(f"PostgreSQL ({pg})")
    if not answers(amqp, 5672):
        missing.append(f"RabbitMQ ({amqp})")
    if not missing:
        return None
    return (f"Tidak terjangkau: {' dan '.join(missing)}. Jalankan `make services`, atau arahkan "
            "ke server yang ada dengan DEMO_PG_URL=postgresql://user@host:5432 dan "
            "AMQP_URL=amqp://user:pass@host:5672/.")


async def walk_newsroom(client: httpx.AsyncClient, cluster: Cluster, limit: int = 6) -> int:
    """Verifies some public activities the Wali Kota attended and takes one task of
    each from assignment to publication."""
    agenda, newsroom = cluster.url("agenda"), cluster.url("newsroom")
    activities = (await client.get(f"{agenda}/v1/activities", params={
        "leader": "walikota", "limit": 200})).json()["activities"]
    walked = 0
    for activity in [a for a in activities if a["visibility"] == "public"][:limit]:
        if not activity["verified"]:
            await client.post(f"{agenda}/v1/activities/{activity['id']}/verify",
                              json={"expected_version": activity["version"]},
                              headers={"X-Actor": "verifikator-kominfo"})
        tasks = await _tasks_of(client, newsroom, activity["id"])
        if any(t["status"] == "published" for t in tasks):
            walked += 1  # walked by an earlier demo run: the same six each time
            continue
        task = next((t for t in tasks if t["status"] == "created"), None)
        if task is None:
            continue
        if await _publish(client, newsroom, task, activity):
            walked += 1
    return walked


async def _tasks_of(client, newsroom: str, activity_id: str, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while True:
        tasks = (await client.get(f"{newsroom}/v1/tasks", params={
            "activity_id": activity_id, "limit": 50})).json().get("tasks", [])
        mine = [t for t in tasks if t["activity_id"] == activity_id]
        if mine or time.monotonic() > deadline:
            return mine
        await asyncio.sleep(0.3)


async def _publish(client, newsroom: str, task: dict, activity: dict) -> bool:
    url = f"{newsroom}/v1/tasks/{task['id']}"
    headers = {"X-Actor": "redaksi-kominfo"}
    steps = [
        ("assign", {"assignee_id": "redaksi-1"}),
        ("submit", {"draft_text": f"{activity['title']} — {activity.get('location') or ''}"}),
        ("approve", {}),
        ("publish", {"url": f"https://kedirikota.go.id/berita/{task['id'][:8]}"}),
    ]
    version = task["version"]
    for verb, body in steps:
        for _ in range(50):  # approval waits for the verification to reach the newsroom
            r = await client.post(f"{url}/{verb}", json={"expected_version": version, **body},
                                  headers=headers)
            if r.status_code == 200:
                version = r.json()["version"]
                break
            if r.status_code == 409 and "verif" in r.text:
                await asyncio.sleep(0.2)
                continue
            console.print(f"  [yellow]{verb} {task['id'][:8]}: {r.status_code} {r.text[:120]}")
            return False
    return True


async def settle(client: httpx.AsyncClient, cluster: Cluster, periods: list[str],
                 timeout: float = 90) -> dict[str, dict]:
    """Waits until scoring's reports stop changing: relays at their heads and
    queues drained show up as the same answer twice in a row."""
    scoring = cluster.url("scoring")
    last: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    stable = 0
    while time.monotonic() < deadline:
        now = {p: (await client.get(f"{scoring}/v1/compliance", params={"period": p})).json()
               for p in periods}
        for body in now.values():
            body.pop("now", None)
        stable = stable + 1 if now == last else 0
        if stable >= 3:
            break
        last = now
        await asyncio.sleep(0.5)
    return last


def angka(text: str | None) -> str:
    """A decimal as staff read it: comma for the decimal point."""
    return "—" if text is None else text.replace(".", ",")


def print_report(year: str, body: dict) -> None:
    rate = angka(body.get("input_rate"))
    console.print(f"\n[bold]Kepatuhan tahun {year}[/]: {body.get('units_with_input')} dari "
                  f"{body.get('units_active')} unit aktif mengisi agenda "
                  f"(tingkat input [bold]{rate} %[/])")
    table = Table(show_lines=False)
    for col in ("Peringkat", "Unit", "Skor", "Tingkat", "Kegiatan"):
        table.add_column(col)
    for row in body.get("units", [])[:10]:
        table.add_row(str(row["rank"]), row["unit_name"], angka(row["score"]),
                      TIERS.get(row["tier"], row["tier"]), str(row["counts"]["activities"]))
    console.print(table)


async def main() -> int:
    pg = os.environ.get("DEMO_PG_URL", DEFAULT_PG)
    amqp = os.environ.get("AMQP_URL", DEFAULT_AMQP)
    problem = check_services(pg, amqp)
    if problem:
        console.print(problem)
        return 2
    # The services' own variables win, so the demo runs where `make run` would.
    own = {k: os.environ[k] for k in (
        "AGENDA_DATABASE_URL", "NEWSROOM_DATABASE_URL", "SCORING_DATABASE_URL", "SIMALIK_PREFIX",
        "AGENDA_HTTP_PORT", "NEWSROOM_HTTP_PORT", "SCORING_HTTP_PORT") if os.environ.get(k)}
    cluster = Cluster.local(pg=pg, amqp=amqp, databases=os.environ.get("DEMO_DATABASES",
                                                                       "simalik"), **own)
    for service in ("agenda", "newsroom", "scoring"):
        port = int(cluster.env[f"{service.upper()}_HTTP_PORT"])
        if answers(f"http://127.0.0.1:{port}", port):
            console.print(f"Port {port} sudah dipakai (apakah `make run` masih berjalan?). "
                          "Hentikan dulu, atau pilih port lain dengan "
                          f"{service.upper()}_HTTP_PORT.")
            return 2
    console.print("[bold]SI-MALIK demo[/] — Pemerintah Kota Kediri")
    console.print("1. Migrasi basis data dan menjalankan layanan agenda, newsroom, scoring …")
    await cluster.migrate()
    await cluster.start()
    try:
        await cluster.ready()
        console.print("2. Mendaftarkan unit dan mengimpor kegiatan nyata "
                      "(data/kediri-units.csv, data/kediri-activities.csv) …")
        await cluster.run("services.agenda", "import", str(ROOT / "data/kediri-activities.csv"),
                          "--units", str(ROOT / "data/kediri-units.csv"),
                          "--active-from", "2021-01-01", check=False)
        async with httpx.AsyncClient(timeout=30) as client:
            console.print("3. Redaksi Kominfo: verifikasi, tugaskan, tulis, setujui, terbitkan …")
            walked = await walk_newsroom(client, cluster)
            console.print(f"   {walked} tugas publikasi diterbitkan.")
            console.print("4. Menunggu proyeksi kepatuhan selesai …")
            years = ["2021", "2022", "2023", "2024", "2025"]
            reports = await settle(client, cluster, years)
        console.print("5. Laporan kepatuhan per tahun (10 teratas):")
        for year in years:
            if reports.get(year, {}).get("units_with_input"):
                print_report(year, reports[year])
        scoring = cluster.url("scoring")
        console.print(f"\nDasbor: {scoring}/  ·  CSV: {scoring}/v1/compliance.csv?period=2023"
                      f"  ·  Agenda: {cluster.url('agenda')}/docs")
        linger = float(os.environ.get("DEMO_LINGER", "120" if sys.stdin.isatty() else "0"))
        if linger > 0:
            console.print(f"Layanan tetap berjalan {linger:.0f} detik untuk dilihat; "
                          "Ctrl-C untuk berhenti.")
            await asyncio.sleep(linger)
    finally:
        console.print("Menghentikan semua proses …")
        await cluster.stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
