"""`python -m services.agenda import FILE`: activities (and their units) from CSV or XLSX.

Decisions:

* **History is recorded honestly.** A row about a past date is entered *now*: the
  events' recorded_at is the import time, `origin` is "import", `import_ref` is
  "<file name>#<row>" (where a person can look the row up) and the actor is
  "import:<os user>". Compliance figures therefore give no credit for timeliness
  to imported rows, and reports "as of" a past moment do not see them.
* **Identity is the row's content**, not its position: the activity id is
  uuid5(IMPORT_NAMESPACE, unit_code | start date (WIB) | title with whitespace
  collapsed and case folded), re-derivable from the planned event itself.
  Re-importing a file (or a corrected or extended copy of it) adds nothing for
  rows seen before; a changed title or date is a new activity. Corrections of
  other fields go through revise, not re-import. IMPORT_NAMESPACE must never change.
* **Past rows are also reported held**, with the source URL as documentation:
  each row comes from a news report that the event took place, which is exactly
  the evidence a PIC would link, and without it the history would show activities
  that were never reported. The held event is recorded now as well, so it counts
  as late realisation reporting, never as timely. Held is reported only when the
  row has a source URL, the activity has ended before the import, and it is still
  open (planned/verified): a cancelled or held one is left alone, and a re-import
  completes a row whose earlier import stopped between the two events.
* **Times:** date + start_time in WIB; an empty time becomes 08.00 WIB (a note in
  the report, not an error), the end is start + 2 h, and the description says
  which times are estimates, because the public calendar shows them.
* **Units** (--units) are registered first, dated active_from = --active-from
  (default 2021-01-01) so they count as active over the years the data covers;
  a unit already registered is counted "sudah ada" and left as it is.
* Imported events go to every subscriber like any other: a consumer that plans
  work from activity.planned (the newsroom) should look at `origin` and the dates
  and not schedule publication tasks for events long past.
* **Dry run** loads the same aggregates and runs the same domain decisions in
  memory (units of --units included) and appends nothing.
* Exit codes: 0 every row taken, 1 some rows rejected, 2 a file cannot be read.
"""

from __future__ import annotations

import csv
import getpass
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple, get_args

import asyncpg
from pydantic import HttpUrl, TypeAdapter, ValidationError

from shared.aggregate import DomainError
from shared.contracts.types import WIB, Leader
from shared.eventstore import ConcurrencyError

from . import bootstrap
from . import commands as c
from . import handlers as h
from .domain import Activity, Unit, activity_stream, unit_stream

IMPORT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:simalik:agenda:import")
DEFAULT_ACTIVE_FROM = date(2021, 1, 1)
DEFAULT_START = time(8, 0)
DURATION = timedelta(hours=2)
REQUIRED = ("unit_code", "title", "date", "category")
UNIT_REQUIRED = ("code", "name", "kind")
HELD_NOTE = "Dilaporkan terlaksana saat impor data historis; bukti: sumber berita publik."
NOTE_NO_TIME = "jam mulai kosong, dipakai 08.00 WIB"
# The same set as shared.contracts.types: C0 except TAB/LF/CR, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\s*WIB)?$", re.IGNORECASE)
_LEADERS = get_args(Leader)
_URL = TypeAdapter(HttpUrl)
# Command field -> file column, so an error names what the operator can fix.
_COLUMNS = {"leaders": "leaders_present", "description": "notes", "starts_at": "start_time",
            "ends_at": "start_time", "activity_id": "title"}
_MESSAGES = {
    "missing": "wajib diisi", "string_too_short": "wajib diisi",
    "string_too_long": "terlalu panjang (maks. {max_length} karakter)",
    "string_pattern_mismatch": "format tidak sah: hanya huruf kecil, angka, _ atau -",
    "literal_error": "nilai tidak dikenal (pilihan: {expected})",
    "url_parsing": "bukan URL yang sah", "url_scheme": "URL harus http atau https",
    "too_long": "terlalu banyak (maks. {max_length})",
}


class FileError(Exception):
    """The file cannot be read at all (exit code 2)."""


Problem = tuple[str, str]  # (column, message)


# -- reading files ----------------------------------------------------------------------

def parse_rows(path: Path, required: tuple[str, ...] = REQUIRED
               ) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as in the file, header = 1; {column: stripped text}) per non-blank row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    elif suffix in (".xlsx", ".xlsm"):
        records = _xlsx_records(path)
    else:
        raise FileError(f"{path.name}: format tidak dikenal (gunakan .csv atau .xlsx)")
    header: list[str] | None = None
    for number, cells in records:
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [col for col in required if col not in header]
            if missing:
                raise FileError(f"{path.name}: baris judul (baris 1) tidak memuat kolom "
                                f"{', '.join(missing)}")
            continue
        if any(cells):
            yield number, {name: cells[i] if i < len(cells) else ""
                           for i, name in enumerate(header) if name}
    if header is None:
        raise FileError(f"{path.name}: berkas kosong")


def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # Excel in an Indonesian locale separates with ';' (',' is the decimal mark).
            first = handle.readline()
            delimiter = ";" if first.count(";") > first.count(",") else ","
            handle.seek(0)
            for number, cells in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
                yield number, [cell.strip() for cell in cells]
    except OSError as exc:
        raise FileError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FileError(f"{path.name}: bukan teks UTF-8 (byte ke-{exc.start}); simpan ulang "
                        "sebagai 'CSV UTF-8'") from exc
    except csv.Error as exc:
        raise FileError(f"{path.name}: CSV rusak: {exc}") from exc


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise FileError(f"{path}: {exc.strerror or exc}") from exc
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FileError(f"{path.name}: bukan berkas XLSX yang dapat dibaca ({exc})") from exc
    try:
        if not book.worksheets:
            raise FileError(f"{path.name}: tidak ada lembar kerja")
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            yield number, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# -- row -> command --------------------------------------------------------------------

class Converted(NamedTuple):
    command: c.PlanActivity
    activity_id: str
    source_url: str | None
    notes: list[str]


def activity_id_for(unit_code: str, day: date, title: str) -> str:
    key = "\x1f".join((unit_code, day.isoformat(), " ".join(title.split()).casefold()))
    return str(uuid.uuid5(IMPORT_NAMESPACE, key))


def to_command(row: dict[str, str]) -> Converted | list[Problem]:
    """A PlanActivity from one row, or every (column, message) wrong with it."""
    problems = _basic_problems(row, REQUIRED)
    day = _parse_date(row.get("date", ""), problems)
    start, notes = DEFAULT_START, [NOTE_NO_TIME]
    if row.get("start_time"):
        start, notes = _parse_time(row["start_time"], problems), []
    leaders = _parse_leaders(row.get("leaders_present", ""), problems)
    source_url = row.get("source_url") or None
    if source_url:
        try:
            source_url = str(_URL.validate_python(source_url))
        except ValidationError as exc:
            problems.extend(_translate(exc, "source_url"))
    starts_at = datetime.combine(day or date(2000, 1, 1), start or DEFAULT_START, tzinfo=WIB)
    try:
        command = c.PlanActivity(
            unit_code=row.get("unit_code", ""), title=row.get("title", ""),
            description=_description(row, bool(notes)), starts_at=starts_at,
            ends_at=starts_at + DURATION, location=row.get("location") or None,
            category=row.get("category", ""), visibility="public", leaders=leaders)
    except ValidationError as exc:
        problems.extend(_translate(exc))
    if problems:
        return _first_per_column(problems)
    return Converted(command, activity_id_for(command.unit_code, starts_at.date(), command.title),
                     source_url, notes)


def to_unit_command(row: dict[str, str], active_from: date) -> c.RegisterUnit | list[Problem]:
    problems = _basic_problems(row, UNIT_REQUIRED)
    try:
        command = c.RegisterUnit(code=row.get("code", ""), name=row.get("name", ""),
                                 kind=row.get("kind", ""), active_from=active_from,
                                 parent_code=row.get("parent_code") or None)
    except ValidationError as exc:
        problems.extend(_translate(exc))
    return _first_per_column(problems) if problems else command


def _basic_problems(row: dict[str, str], required: tuple[str, ...]) -> list[Problem]:
    problems = []
    for column, value in row.items():
        if match := _CONTROL.search(value):
            char = match.group()
            name = "NUL" if char == "\x00" else f"U+{ord(char):04X}"
            problems.append((column, f"berisi karakter kendali {name} "
                                     f"(posisi {match.start() + 1})"))
    problems += [(col, "wajib diisi") for col in required if not row.get(col)]
    return problems


def _parse_date(text: str, problems: list[Problem]) -> date | None:
    if not text:
        return None
    try:
        if "/" in text:  # the Indonesian way of writing it: 24/02/2021
            return datetime.strptime(text, "%d/%m/%Y").date()
        return date.fromisoformat(text)
    except ValueError:
        problems.append(("date", f"tanggal tidak sah '{text}' (gunakan TTTT-BB-HH, "
                                 "mis. 2021-02-24, atau HH/BB/TTTT)"))
        return None


def _parse_time(text: str, problems: list[Problem]) -> time | None:
    match = _TIME.match(text)
    try:
        if match:
            return time(*(int(g) for g in match.groups() if g is not None))
    except ValueError:
        pass
    problems.append(("start_time", f"jam tidak sah '{text}' (gunakan JJ:MM, mis. 08:30)"))
    return None


def _parse_leaders(text: str, problems: list[Problem]) -> list[str]:
    leaders: list[str] = []
    for raw in text.split(";"):
        name = raw.strip().lower()
        if not name or name in leaders:
            continue
        if name in _LEADERS:
            leaders.append(name)
        else:
            problems.append(("leaders_present", f"pimpinan tidak dikenal '{raw.strip()}' "
                                                f"(pilihan: {', '.join(_LEADERS)})"))
    return leaders


def _description(row: dict[str, str], no_time: bool) -> str:
    parts = [row["notes"]] if row.get("notes") else []
    if row.get("date_note"):
        parts.append(f"Catatan tanggal: {row['date_note']}")
    parts.append("Jam tidak tercatat di sumber; 08.00–10.00 WIB adalah perkiraan." if no_time
                 else "Jam selesai tidak tercatat di sumber; durasi 2 jam adalah perkiraan.")
    if row.get("source_url"):
        parts.append(f"Sumber: {row['source_url']}")
    return "\n".join(parts)


def _translate(exc: ValidationError, column: str | None = None) -> list[Problem]:
    problems = []
    for error in exc.errors():
        col = column or _COLUMNS.get(str(error["loc"][0]), str(error["loc"][0]))
        template = _MESSAGES.get(error["type"])
        try:
            message = template.format(**error.get("ctx", {})) if template else None
        except (KeyError, IndexError):
            message = None
        if error["type"] == "string_pattern_mismatch" and col == "category":
            message = "format tidak sah: hanya huruf kecil dan _ (mis. rapat)"
        problems.append((col, message or error["msg"].removeprefix("Value error, ")))
    return problems


def _first_per_column(problems: list[Problem]) -> list[Problem]:
    seen: dict[str, str] = {}
    for column, message in problems:
        seen.setdefault(column, message)
    return list(seen.items())


# -- the run ---------------------------------------------------------------------------

class RowProblem(NamedTuple):
    file: str
    row: int
    column: str
    message: str


@dataclass
class Tally:
    created: int = 0
    existing: int = 0
    rejected: int = 0
    held: int = 0


@dataclass
class Report:
    dry_run: bool
    units: Tally = field(default_factory=Tally)
    activities: Tally = field(default_factory=Tally)
    problems: list[RowProblem] = field(default_factory=list)
    notes: dict[str, list[int]] = field(default_factory=dict)

    def reject(self, tally: Tally, file: str, row: int, problems: list[Problem]) -> None:
        tally.rejected += 1
        self.problems += [RowProblem(file, row, col, msg) for col, msg in problems]

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0


class Importer:
    def __init__(self, app: h.Agenda, ctx: h.Context, report: Report) -> None:
        self.app, self.ctx, self.report = app, ctx, report
        self.units: dict[str, Unit] = {}
        self.activities: dict[str, Activity] = {}  # this run's, so a dry run counts alike
        self.seen: dict[str, int] = {}

    async def unit(self, code: str) -> Unit:
        if code not in self.units:
            self.units[code] = await h.load(self.app.store, Unit, unit_stream(code))
        return self.units[code]

    async def register_units(self, name: str, rows: list[tuple[int, dict[str, str]]],
                             active_from: date) -> None:
        tally = self.report.units
        for number, row in rows:
            command = to_unit_command(row, active_from)
            if isinstance(command, list):
                self.report.reject(tally, name, number, command)
                continue
            unit = await self.unit(command.code)
            if unit.exists:
                tally.existing += 1
                continue
            fields = command.model_dump(exclude={"code", "pic", "verifikator"})
            try:
                unit.register(unit_code=command.code, **fields)  # the in-memory copy decides
                if not self.report.dry_run:
                    await h.register_unit(command, self.ctx, self.app)
            except DomainError as exc:
                self.report.reject(tally, name, number, [(exc.field or "code", exc.message)])
                continue
            tally.created += 1

    async def import_row(self, name: str, number: int, row: dict[str, str]) -> None:
        tally = self.report.activities
        converted = to_command(row)
        if isinstance(converted, list):
            return self.report.reject(tally, name, number, converted)
        cmd, activity_id, source_url, notes = converted
        if activity_id in self.seen:
            self.report.notes.setdefault(f"sama dengan baris {self.seen[activity_id]}",
                                         []).append(number)
        self.seen.setdefault(activity_id, number)
        unit = await self.unit(cmd.unit_code)
        day = cmd.starts_at.astimezone(WIB).date()
        if not unit.exists:
            return self.report.reject(tally, name, number, [(
                "unit_code", f"unit '{cmd.unit_code}' belum terdaftar (daftarkan dulu, "
                             "mis. dengan --units)")])
        if not unit.is_active_on(day):
            return self.report.reject(tally, name, number, [(
                "date", f"unit '{cmd.unit_code}' tidak aktif pada {day.isoformat()} (aktif "
                        f"{unit.active_from} s.d. {unit.active_until or 'sekarang'})")])
        activity = self.activities.get(activity_id) or await h.load(
            self.app.store, Activity, activity_stream(activity_id))
        self.activities[activity_id] = activity
        try:
            if activity.exists:
                tally.existing += 1
            else:
                await self._plan(activity, unit, cmd, activity_id, f"{name}#{number}")
                tally.created += 1
                for note in notes:
                    self.report.notes.setdefault(note, []).append(number)
            if source_url and activity.status in ("planned", "verified") \
                    and cmd.ends_at <= self.ctx.now:
                await self._held(activity, activity_id, source_url)
                tally.held += 1
        except ConcurrencyError:  # another import took the row meanwhile
            tally.existing += 1
        except DomainError as exc:
            self.report.reject(tally, name, number, [
                (_COLUMNS.get(exc.field or "", exc.field or "-"), exc.message)])
        except ValidationError as exc:  # an event model stricter than the command
            self.report.reject(tally, name, number, _first_per_column(_translate(exc)))

    async def _plan(self, activity: Activity, unit: Unit, cmd: c.PlanActivity,
                    activity_id: str, ref: str) -> None:
        fields = cmd.model_dump(exclude={"contact"})
        activity.plan(unit, activity_id=activity_id, origin="import", import_ref=ref,
                      contact_id=None, **fields)
        if not self.report.dry_run:
            await h.plan_activity(cmd, self.ctx, self.app, activity_id=activity_id,
                                  origin="import", import_ref=ref)

    async def _held(self, activity: Activity, activity_id: str, source_url: str) -> None:
        version = activity.version + len(activity.pending)
        activity.report_held([source_url], HELD_NOTE, self.ctx.now)
        if not self.report.dry_run:
            await h.report_held(activity_id, c.ReportHeld(
                expected_version=version, documentation_links=[source_url], note=HELD_NOTE),
                self.ctx, self.app)


def import_actor() -> str:
    try:
        return f"import:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 — no login name (containers): still say it was an import
        return "import:unknown"


class Files(NamedTuple):
    name: str
    rows: list[tuple[int, dict[str, str]]]
    units_name: str | None = None
    unit_rows: list[tuple[int, dict[str, str]]] = []


def read_files(path: Path, units_path: Path | None = None) -> Files:
    """Both files whole, before anything is recorded: an unreadable one records nothing."""
    unit_rows = list(parse_rows(units_path, UNIT_REQUIRED)) if units_path else []
    return Files(path.name, list(parse_rows(path)), units_path.name if units_path else None,
                 unit_rows)


async def import_files(service: bootstrap.Service, files: Files, *,
                       active_from: date = DEFAULT_ACTIVE_FROM, dry_run: bool = False,
                       on_row: Callable[[], None] | None = None) -> Report:
    report = Report(dry_run)
    importer = Importer(service.agenda, h.Context(actor=import_actor()), report)
    if files.units_name:
        await importer.register_units(files.units_name, files.unit_rows, active_from)
    for number, row in files.rows:
        await importer.import_row(files.name, number, row)
        if on_row:
            on_row()
    return report


async def run_import(args: Any, service: bootstrap.Service | None = None) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True, markup=False, highlight=False)
    try:
        active_from = (date.fromisoformat(args.active_from) if args.active_from
                       else DEFAULT_ACTIVE_FROM)
    except ValueError:
        err.print(f"--active-from tidak sah: '{args.active_from}' (gunakan TTTT-BB-HH)")
        return 2
    try:
        files = read_files(Path(args.file), Path(args.units) if args.units else None)
    except FileError as exc:
        err.print(f"Berkas tidak dapat dibaca: {exc}")
        return 2
    own = service is None
    try:
        service = service or await bootstrap.build()
        progress = Progress(TextColumn("Mengimpor kegiatan"), BarColumn(), MofNCompleteColumn(),
                            console=err, transient=True)
        with progress:
            task = progress.add_task("impor", total=len(files.rows))
            report = await import_files(service, files, active_from=active_from,
                                        dry_run=args.dry_run, on_row=lambda: progress.advance(task))
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        err.print(f"Basis data menolak: {exc}. Baris yang sudah tercatat aman; jalankan ulang "
                  "impor, baris yang sudah ada dilewati.")
        return 2
    finally:
        if own and service is not None:
            await service.close()
    print_report(report, Console(markup=False, highlight=False))
    return report.exit_code


def print_report(report: Report, console: Any) -> None:
    from rich.table import Table

    a, u = report.activities, report.units
    if report.dry_run:
        console.print("Uji coba (--dry-run): tidak ada yang dicatat.")
    if u.created or u.existing or u.rejected:
        console.print(f"Unit {'akan didaftarkan' if report.dry_run else 'didaftarkan'}: "
                      f"{u.created}, sudah ada: {u.existing}, ditolak: {u.rejected}")
    console.print(f"{'Akan diimpor' if report.dry_run else 'Diimpor'}: {a.created}, "
                  f"sudah ada: {a.existing}, ditolak: {a.rejected}; dilaporkan terlaksana: "
                  f"{a.held}")
    for note, rows in report.notes.items():
        console.print(f"Catatan — {note}: baris {_ranges(rows)}")
    if report.problems:
        table = Table(title="Baris yang ditolak")
        several = len({p.file for p in report.problems}) > 1
        for name in (["berkas"] if several else []) + ["baris", "kolom", "masalah"]:
            table.add_column(name, overflow="fold")
        for p in report.problems:
            table.add_row(*([p.file] if several else []), str(p.row), p.column, p.message)
        console.print(table)


def _ranges(numbers: list[int]) -> str:
    """2, 3, 4, 7 -> '2–4, 7'."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)
