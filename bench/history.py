"""A seeded, Kediri-sized history for P5, as stored events ready for COPY.

93 units (the 85 of data/kediri-units.csv and eight puskesmas) registered in
January of the first year, a PIC change now and then, two units wound up; every
unit's yearly prognosis (some revised mid-year); activities planned ahead (a
few entered late, a few imported long after), revised, rescheduled, cancelled,
verified and reported held. The newsroom, from NEWSROOM_FROM on, makes
publication tasks for the public activities a leader attends and walks them
through its workflow (assign, submit, sometimes reject, approve, publish;
cancelled or rescheduled with their activity).

One simulation, one clock: events come out of a heap in recorded order, so the
positions of each store follow recorded_at and every stream's versions are
contiguous. It stops at the `total`-th event of both stores together (a prefix
of the history, as any live history is). Every payload has the shape
`Event.model_dump(mode="json")` gives (all fields, None included), so the
rebuild's validation passes; `check()` proves it on a sample.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

WIB = timezone(timedelta(hours=7))
DATA = Path(__file__).resolve().parent.parent / "data"
DAY = 86400.0
HOUR = 3600.0

PUSKESMAS = ["pkm_balowerti", "pkm_kota_wilayah_utara", "pkm_pesantren_1", "pkm_pesantren_2",
             "pkm_sukorame", "pkm_mrican", "pkm_campurejo", "pkm_ngletih"]
CATEGORIES = ["rapat", "sosialisasi", "pelayanan_publik", "kunjungan_kerja", "pelatihan",
              "bakti_sosial", "festival_budaya", "lainnya", "upacara", "monitoring"]
LEADERS = ["walikota", "wakil_walikota", "pj_walikota", "sekda", "asisten", "kepala_opd",
           "camat", "lurah"]
PLACES = ["Ruang Kilisuci Balai Kota Kediri", "Ruang Joyoboyo Balai Kota Kediri",
          "Alun-Alun Kota Kediri", "GOR Jayabaya", "Taman Sekartaji", "Stadion Brawijaya",
          "Aula Kantor Kecamatan", "Balai Kelurahan", "Pendopo Kecamatan", "Daring (Zoom)",
          "Jalan Dhoho", "Pasar Setono Betek", "Gedung Bagawanta Bhari", "Kantor Dinas"]
SUFFIXES = ["tahap I", "tahap II", "triwulan I", "triwulan II", "triwulan III", "triwulan IV",
            "tingkat kota", "tingkat kecamatan", "bersama OPD teknis", "bersama Forkopimda",
            "untuk warga", "bagi pelajar", "bagi pelaku UMKM", "lanjutan", ""]
REASONS = ["Bentrok dengan agenda pimpinan", "Cuaca buruk", "Menunggu narasumber",
           "Tempat belum siap", "Permintaan peserta", "Arahan Wali Kota"]
CANCEL_REASONS = ["Anggaran belum cair", "Narasumber berhalangan", "Digabung dengan kegiatan lain",
                  "Kebijakan PPKM", "Arahan pimpinan"]
KINDS = {"press_release": "website", "social_teaser": "instagram", "social_recap": "instagram"}
BUSY = {"dinas": 2.2, "badan": 1.8, "sekretariat": 1.6, "bagian": 1.3, "rsud": 1.2,
        "kecamatan": 1.4, "satpol": 1.5, "inspektorat": 0.8, "kelurahan": 0.55,
        "puskesmas": 0.7}


@dataclass(frozen=True)
class Spec:
    total: int = 1_000_000
    seed: int = 20231101
    first_year: int = 2014
    last_year: int = 2025
    newsroom_from: date = date(2023, 1, 2)
    # Activities planned per working day by a unit of weight 1; tuned so a
    # million events end near the end of `last_year`.
    rate: float = 1.05


@dataclass(slots=True)
class Stream:
    sid: str
    version: int = 0


@dataclass(slots=True)
class Activity:
    stream: Stream
    id: str
    unit: Unit
    title: str
    starts_at: float
    ends_at: float
    visibility: str
    leaders: list[str]
    category: str
    status: str = "planned"
    verified: bool = False
    tasks: list[Task] = field(default_factory=list)


@dataclass(slots=True)
class Task:
    stream: Stream
    id: str
    kind: str
    activity: Activity
    due: float
    open: bool = True


@dataclass(slots=True)
class Unit:
    code: str
    name: str
    kind: str
    stream: Stream
    weight: float
    pic: str
    verifikator: str
    active_until: date | None = None
    items: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class History:
    """Counts of what came out, for the row's note."""

    agenda: int = 0
    newsroom: int = 0
    activities: int = 0
    tasks: int = 0
    last: datetime | None = None
    by_type: dict[str, int] = field(default_factory=dict)


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, WIB).isoformat()


class Simulation:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.heap: list[tuple[float, int, str, object, object]] = []
        self.seq = 0
        self.last = 0.0
        self.stats = History()
        self.titles = self._titles()
        self.units = self._units()
        self.newsroom_from = datetime.combine(spec.newsroom_from, datetime.min.time(),
                                              WIB).timestamp()

    # -- helpers -----------------------------------------------------------------

    def uuid(self) -> str:
        # A version-4 UUID from the seeded generator, formatted without uuid.UUID.
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def person(self) -> str:
        return self.uuid()

    def push(self, ts: float, kind: str, obj: object, extra: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (ts, self.seq, kind, obj, extra))

    def _titles(self) -> list[str]:
        with open(DATA / "kediri-activities.csv", encoding="utf-8") as f:
            titles = [r["title"].strip() for r in csv.DictReader(f) if r["title"].strip()]
        return titles + ["Rapat koordinasi internal", "Apel pagi", "Posyandu balita",
                         "Sosialisasi Prodamas Plus", "Monitoring kebersihan lingkungan",
                         "Pelayanan administrasi kependudukan keliling", "Senam bersama warga",
                         "Rapat evaluasi kinerja", "Bimbingan teknis aplikasi SIPD"]

    def _units(self) -> list[Unit]:
        with open(DATA / "kediri-units.csv", encoding="utf-8") as f:
            rows = [(r["code"], r["name"], r["kind"]) for r in csv.DictReader(f)]
        rows += [(c, "Puskesmas " + c[4:].replace("_", " ").title(), "puskesmas")
                 for c in PUSKESMAS]
        assert len(rows) == 93, len(rows)
        return [Unit(code, name, kind, Stream(f"unit-{code}"),
                     BUSY.get(kind, 1.0) * self.rng.uniform(0.6, 1.4), self.person(),
                     self.person()) for code, name, kind in rows]

    # -- schedule ----------------------------------------------------------------

    def working_time(self, day: date, start_h: float = 7.0, end_h: float = 16.0) -> float:
        base = datetime(day.year, day.month, day.day, tzinfo=WIB).timestamp()
        return base + self.rng.uniform(start_h, end_h) * HOUR

    def schedule(self) -> None:
        """Seeds the heap: unit registrations, yearly prognoses, PIC changes and
        the days on which activities are planned (planned lazily, day by day)."""
        spec, rng = self.spec, self.rng
        first = date(spec.first_year, 1, 2)
        for unit in self.units:
            self.push(self.working_time(first, 8, 9), "unit.registered", unit)
        for year in range(spec.first_year, spec.last_year + 1):
            for unit in self.units:
                day = date(year, 1, 1) + timedelta(days=rng.randrange(2, 40))
                self.push(self.working_time(day), "prognosis.submitted", unit, year)
                if rng.random() < 0.3:
                    day = date(year, 6, 1) + timedelta(days=rng.randrange(0, 45))
                    self.push(self.working_time(day), "prognosis.submitted", unit, year)
                if rng.random() < 0.15:
                    day = date(year, 1, 1) + timedelta(days=rng.randrange(30, 330))
                    self.push(self.working_time(day), "unit.updated", unit)
        wound_up = (("kel_ngampel", spec.first_year + 6), ("pkm_ngletih", spec.last_year - 2))
        for code, year in wound_up:
            unit = next(u for u in self.units if u.code == code)
            self.push(self.working_time(date(year, 12, 30)), "unit.deactivated", unit)
        day = first + timedelta(days=1)
        while day.year <= spec.last_year:
            midnight = datetime(day.year, day.month, day.day, tzinfo=WIB).timestamp()
            self.push(midnight, "day", None, day)
            day += timedelta(days=1)

    def plan_day(self, day: date) -> None:
        rng, spec = self.rng, self.spec
        weekend = day.weekday() >= 5
        for unit in self.units:
            if unit.active_until and day > unit.active_until:
                continue
            lam = unit.weight * spec.rate * (0.15 if weekend else 1.0)
            # Poisson(lam), Knuth's way (lam is small).
            k, p, limit = 0, rng.random(), math.exp(-lam)
            while p > limit:
                k += 1
                p *= rng.random()
            for _ in range(k):
                self.plan_activity(unit, day)

    def plan_activity(self, unit: Unit, day: date) -> None:
        rng = self.rng
        t_plan = self.working_time(day, 7, 20)
        r = rng.random()
        if r < 0.02:  # imported long after it happened
            # (never before the units' active_from, as the agenda would refuse it)
            start_day = max(day - timedelta(days=rng.randrange(20, 200)),
                            date(self.spec.first_year, 1, 1))
            origin = "import"
        elif r < 0.10:  # entered late, after it started
            start_day = day - timedelta(days=rng.randrange(0, 4))
            origin = "api"
        else:
            start_day = day + timedelta(days=min(60, int(rng.expovariate(1 / 9)) + 1))
            origin = "api"
        start = self.working_time(start_day, 7, 15) // 900 * 900  # on the quarter hour
        if origin == "api" and start_day == day and start > t_plan:
            start = t_plan - 2 * HOUR
        end = start + rng.choice((1, 1.5, 2, 2, 3, 4, 8)) * HOUR
        leaders = sorted(rng.sample(LEADERS, rng.choice((0, 0, 1, 1, 1, 2, 3))))
        aid = self.uuid()
        title = rng.choice(self.titles)
        suffix = rng.choice(SUFFIXES)
        if suffix:
            title = f"{title} {suffix}"
        act = Activity(Stream(f"activity-{aid}"), aid, unit, title[:200], start, end,
                       "internal" if rng.random() < 0.18 else "public", leaders,
                       rng.choice(CATEGORIES))
        self.push(t_plan, "activity.planned", act, origin)
        self.stats.activities += 1
        t = t_plan
        ahead = start - t_plan
        if origin == "api" and ahead > 3 * HOUR:
            if rng.random() < 0.10:
                self.push(t + rng.uniform(0.02, 0.5) * ahead, "activity.revised", act)
            n = 2 if rng.random() < 0.03 else (1 if rng.random() < 0.15 else 0)
            for _ in range(n):
                t = t + rng.uniform(0.1, 0.6) * (start - t)
                delta = rng.choice((1, 1, 2, 3, 7, 14)) * DAY + rng.choice((0, 0, 3600, -3600))
                start += delta
                end += delta
                self.push(t, "activity.rescheduled", act, (start, end))
            if rng.random() < 0.05:
                self.push(t + rng.uniform(0.1, 0.9) * (start - t), "activity.cancelled", act)
                start = None
        if rng.random() < 0.65:
            self.push(t_plan + rng.uniform(0.5 * HOUR, 3 * DAY), "activity.verified", act)
        if start is not None and rng.random() < 0.78:
            after = (rng.uniform(5 * DAY, 60 * DAY) if origin == "import"
                     else rng.uniform(0.5 * HOUR, 5 * DAY))
            self.push(max(end, t_plan) + after, "activity.held", act)
        if (act.visibility == "public" and t_plan >= self.newsroom_from
                and (rng.random() < 0.5 if {"walikota", "wakil_walikota"} & set(leaders)
                     else rng.random() < 0.02)):
            # The newsroom's consumer makes the tasks a moment after the planned event.
            self.push(t_plan + rng.uniform(0.05, 2.0), "newsroom.plan", act)

    # -- events --------------------------------------------------------------------

    def run(self) -> Iterator[tuple[str, str]]:
        """("agenda" | "newsroom", record) in recorded order, `spec.total` of them."""
        self.schedule()
        produced = 0
        heap = self.heap
        while heap and produced < self.spec.total:
            ts, _, kind, obj, extra = heapq.heappop(heap)
            if kind == "day":
                self.plan_day(extra)  # type: ignore[arg-type]
                continue
            out = self.emit(ts, kind, obj, extra)
            if out is None:
                continue
            produced += 1
            yield out

    def record(self, stream: Stream, kind: str, ts: float, data: dict, meta: str) -> str:
        """One line of COPY text format, in the order of COLUMNS."""
        ts = max(ts, self.last + 0.000_001)
        self.last = ts
        stream.version += 1
        by_type = self.stats.by_type
        by_type[kind] = by_type.get(kind, 0) + 1
        body = _encode(data)
        if "\\" in body:  # COPY text format: a backslash is written twice
            body = body.replace("\\", "\\\\")
        return (f"{stream.sid}\t{stream.version}\t{self.uuid()}\t{kind}\t1\t"
                f"{datetime.fromtimestamp(ts, UTC).isoformat()}\t{body}\t{meta}\n")

    def meta(self, actor: str, unit: str) -> str:
        """Metadata as the API writes it (all values are ids and codes: no escaping)."""
        correlation = self.uuid()
        return (f'{{"actor":"{actor}","correlation_id":"{correlation}",'
                f'"causation_id":"{correlation}","unit":"{unit}"}}')

    def emit(self, ts: float, kind: str, obj, extra) -> tuple[str, str] | None:  # noqa: C901
        rng = self.rng
        if kind.startswith("unit."):
            unit: Unit = obj
            if kind == "unit.registered":
                data = {"unit_code": unit.code, "name": unit.name, "kind": unit.kind,
                        "parent_code": None, "active_from": f"{self.spec.first_year}-01-01",
                        "active_until": None, "pic_id": unit.pic,
                        "verifikator_id": unit.verifikator}
            elif kind == "unit.updated":
                if unit.active_until:
                    return None
                unit.pic = self.person()
                data = {"unit_code": unit.code, "name": None, "kind": None, "parent_code": None,
                        "active_from": None, "active_until": None, "pic_id": unit.pic,
                        "verifikator_id": None}
            else:
                unit.active_until = datetime.fromtimestamp(ts, WIB).date()
                data = {"unit_code": unit.code, "active_until": unit.active_until.isoformat(),
                        "reason": "Penataan organisasi perangkat daerah"}
            return "agenda", self.record(unit.stream, kind, ts, data,
                                         self.meta("admin-kominfo", unit.code))
        if kind == "prognosis.submitted":
            unit, year = obj, extra
            if unit.active_until and unit.active_until < date(year, 12, 31):
                return None
            revision = 2 if year in unit.items else 1
            n = rng.randrange(12, 41)
            items = [{"item_id": f"p{year}-{i:03d}", "title": rng.choice(self.titles)[:200],
                      "month": rng.randrange(1, 13), "category": rng.choice(CATEGORIES),
                      "leaders": sorted(rng.sample(LEADERS, rng.choice((0, 1, 1, 2))))}
                     for i in range(n)]
            unit.items[year] = [it["item_id"] for it in items]
            stream = Stream(f"prognosis-{unit.code}-{year}", revision - 1)
            data = {"unit_code": unit.code, "year": year, "revision": revision, "items": items}
            return "agenda", self.record(stream, kind, ts, data, self.meta(unit.pic, unit.code))
        if kind == "newsroom.plan":
            return self.plan_tasks(ts, obj)
        if kind.startswith("task."):
            return self.task_event(ts, kind, obj, extra)
        act: Activity = obj
        unit = act.unit
        base = {"activity_id": act.id, "unit_code": unit.code}
        if kind == "activity.planned":
            year = datetime.fromtimestamp(act.starts_at, WIB).year
            items = unit.items.get(year)
            who = rng.choice(("OPD terkait", "warga", "pelajar", "pelaku UMKM", "kader PKK"))
            desc = (f"{act.title}. Diselenggarakan oleh {unit.name}; peserta dari {who}."
                    if rng.random() < 0.7 else "")
            data = base | {
                "title": act.title, "description": desc, "starts_at": _iso(act.starts_at),
                "ends_at": _iso(act.ends_at), "location": rng.choice(PLACES),
                "category": act.category, "visibility": act.visibility, "leaders": act.leaders,
                "contact_id": unit.pic if rng.random() < 0.5 else None,
                "prognosis_item_id": rng.choice(items) if items and rng.random() < 0.4 else None,
                "origin": extra, "import_ref": f"impor-{act.id[:8]}" if extra == "import" else None}
        elif act.status in ("cancelled", "held") and kind != "activity.verified":
            return None
        elif kind == "activity.revised":
            act.title = (act.title + " (revisi)")[:200]
            data = base | {"title": act.title, "description": None,
                           "location": rng.choice(PLACES), "category": None, "visibility": None,
                           "leaders": None, "contact_id": None, "prognosis_item_id": None}
        elif kind == "activity.rescheduled":
            start, end = extra
            data = base | {"starts_at": _iso(start), "ends_at": _iso(end),
                           "previous_starts_at": _iso(act.starts_at),
                           "previous_ends_at": _iso(act.ends_at),
                           "reason": rng.choice(REASONS)}
            act.starts_at, act.ends_at = start, end
            for task in act.tasks:
                if task.open:
                    self.push(ts + rng.uniform(0.05, 1.0), "task.rescheduled", task)
        elif kind == "activity.cancelled":
            act.status = "cancelled"
            data = base | {"reason": rng.choice(CANCEL_REASONS)}
            for task in act.tasks:
                if task.open:
                    self.push(ts + rng.uniform(0.05, 1.0), "task.cancelled", task)
        elif kind == "activity.verified":
            if act.status == "cancelled" or act.verified:
                return None
            act.verified = True
            data = base | {"verifier_id": unit.verifikator,
                           "note": "Sesuai" if rng.random() < 0.3 else None}
            return "agenda", self.record(act.stream, kind, ts, data,
                                         self.meta(unit.verifikator, unit.code))
        else:  # held
            act.status = "held"
            n = rng.choice((0, 1, 1, 2, 3))
            data = base | {"documentation_links": [
                f"https://kedirikota.go.id/p/dokumentasi/{rng.randrange(10**6, 10**7)}"
                for _ in range(n)], "note": "Terlaksana dengan lancar" if n else None}
        return "agenda", self.record(act.stream, kind, ts, data, self.meta(unit.pic, unit.code))

    # -- newsroom ------------------------------------------------------------------

    def plan_tasks(self, ts: float, act: Activity) -> tuple[str, str] | None:
        if act.status == "cancelled":
            return None
        rng = self.rng
        kinds = ["press_release"] + (["social_recap"] if rng.random() < 0.5 else []) + (
            ["social_teaser"] if rng.random() < 0.2 else [])
        tasks = []
        for k in kinds:
            tid = self.uuid()
            task = Task(Stream(f"task-{tid}"), tid, k, act, 0.0)
            act.tasks.append(task)
            tasks.append(task)
            self.stats.tasks += 1
        for i, task in enumerate(tasks[1:], 1):  # the same commit: the rest follow at once
            self.push(ts + i * 0.0001, "task.created", task)
        return self.task_event(ts, "task.created", tasks[0], None)

    def task_event(self, ts: float, kind: str, task: Task, extra) -> tuple[str, str] | None:
        rng, act = self.rng, task.activity
        if not task.open:
            return None
        base = {"task_id": task.id, "activity_id": act.id, "unit_code": act.unit.code}
        actor = "newsroom-rules"
        if kind == "task.created":
            task.due = act.ends_at + (6 * HOUR if task.kind != "social_teaser" else -DAY)
            data = base | {"kind": task.kind, "channel": KINDS[task.kind],
                           "title": f"Rilis berita ({KINDS[task.kind]}): {act.title}"[:200],
                           "brief": "Tulis rilis berita kegiatan (5W+1H).",
                           "due_at": _iso(task.due),
                           "rule_id": f"{task.kind}-leaders", "public": True}
            editor = f"editor-{rng.randrange(1, 9)}"
            t = ts + rng.uniform(0.5 * HOUR, 6 * HOUR)
            self.push(t, "task.assigned", task, editor)
            t = max(t, act.ends_at) + rng.uniform(0.5 * HOUR, 8 * HOUR)
            if rng.random() < 0.1:
                self.push(t, "task.submitted", task, editor)
                t += rng.uniform(0.2 * HOUR, 3 * HOUR)
                self.push(t, "task.rejected", task)
                t += rng.uniform(0.2 * HOUR, 3 * HOUR)
            self.push(t, "task.submitted", task, editor)
            t += rng.uniform(0.2 * HOUR, 4 * HOUR)
            self.push(t, "task.approved", task)
            if rng.random() < 0.93:
                self.push(t + rng.uniform(60, 2 * HOUR), "task.published", task)
        elif kind == "task.assigned":
            data = base | {"assignee_id": extra}
            actor = "redaktur-1"
        elif kind == "task.submitted":
            if act.status == "cancelled":
                return None
            data = base | {"draft_text": f"{act.title}. Kegiatan berlangsung di Kota Kediri.",
                           "draft_url": None}
            actor = extra
        elif kind == "task.rejected":
            data = base | {"reviewer_id": "redaktur-1", "reason": "Kutipan pejabat belum ada"}
            actor = "redaktur-1"
        elif kind == "task.approved":
            if act.status == "cancelled":
                return None
            data = base | {"reviewer_id": "redaktur-1", "neutrality_override": None}
            actor = "redaktur-1"
        elif kind == "task.published":
            if act.status == "cancelled":
                return None
            task.open = False
            n = rng.randrange(10**6, 10**7)
            url = (f"https://kedirikota.go.id/p/berita/{n}/kegiatan" if task.kind == "press_release"
                   else f"https://www.instagram.com/p/{n:x}/")
            data = base | {"url": url, "published_at": _iso(ts)}
            actor = "redaktur-1"
        elif kind == "task.rescheduled":
            previous = task.due
            task.due = act.ends_at + (6 * HOUR if task.kind != "social_teaser" else -DAY)
            data = base | {"due_at": _iso(task.due), "previous_due_at": _iso(previous)}
        else:  # cancelled
            task.open = False
            data = base | {"reason": "Kegiatan dibatalkan"}
        return "newsroom", self.record(task.stream, kind, ts, data,
                                       self.meta(actor, act.unit.code))


def generate(spec: Spec | None = None) -> tuple[Simulation, Iterator[tuple[str, str]]]:
    sim = Simulation(spec or Spec())
    return sim, sim.run()


COLUMNS = ("stream_id", "version", "event_id", "type", "schema_version", "recorded_at", "data",
           "metadata")


def check(records: list[tuple[str, str]]) -> None:
    """Validates COPY lines against the contracts, as the rebuild will."""
    from shared.contracts.agenda import AGENDA_EVENTS
    from shared.contracts.newsroom import NEWSROOM_EVENTS

    registries = {"agenda": AGENDA_EVENTS, "newsroom": NEWSROOM_EVENTS}
    versions: dict[str, int] = {}
    for store, line in records:
        sid, version, _id, kind, schema, _at, data, meta = line.rstrip("\n").split("\t")
        version = int(version)
        registries[store].load(kind, int(schema), json.loads(data.replace("\\\\", "\\")))
        json.loads(meta)
        assert versions.get(sid, 0) + 1 == version, (sid, version)
        versions[sid] = version
