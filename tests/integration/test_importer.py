"""The activity importer (services/agenda/importer.py) on a real database."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from services.agenda import handlers as h
from services.agenda import importer

DATA = Path(__file__).resolve().parents[2] / "data"
ACTIVITIES, UNITS = DATA / "kediri-activities.csv", DATA / "kediri-units.csv"
HEADER = ("unit_name,title,date,start_time,location,leaders_present,category,source_url,"
          "date_note,notes,unit_code")


async def run(agenda, file: Path, units: Path | None = UNITS, dry_run: bool = False,
              active_from: str | None = None) -> int:
    args = argparse.Namespace(file=str(file), units=str(units) if units else None,
                              dry_run=dry_run, active_from=active_from)
    return await importer.run_import(args, service=agenda)


async def counts(agenda) -> dict[str, int]:
    rows = await agenda.pool.fetch("SELECT type, count(*) AS n FROM events GROUP BY type")
    return {r["type"]: r["n"] for r in rows}


def write_csv(tmp_path: Path, *rows: str, name: str = "kegiatan.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


async def test_city_data_imports_whole_and_a_second_import_adds_nothing(agenda, capsys):
    assert await run(agenda, ACTIVITIES) == 0
    out = capsys.readouterr().out
    assert "Unit didaftarkan: 85, sudah ada: 0, ditolak: 0" in out
    assert "Diimpor: 66, sudah ada: 0, ditolak: 0; dilaporkan terlaksana: 66" in out
    assert "jam mulai kosong, dipakai 08.00 WIB" in out
    first = await counts(agenda)
    assert first == {"unit.registered": 85, "activity.planned": 66, "activity.held": 66}
    assert await agenda.pool.fetchval("SELECT count(*) FROM activities_view "
                                      "WHERE status = 'held' AND origin = 'import'") == 66

    assert await run(agenda, ACTIVITIES) == 0
    out = capsys.readouterr().out
    assert "Unit didaftarkan: 0, sudah ada: 85, ditolak: 0" in out
    assert "Diimpor: 0, sudah ada: 66, ditolak: 0; dilaporkan terlaksana: 0" in out
    assert await counts(agenda) == first


async def test_planning_an_existing_import_id_appends_nothing(agenda):
    await run(agenda, ACTIVITIES)
    row = dict(next(iter(importer.parse_rows(ACTIVITIES)))[1])
    converted = importer.to_command(row)
    assert not isinstance(converted, list)
    head = await agenda.store.head()
    result = await h.plan_activity(converted.command, h.Context(actor="import:test"),
                                   agenda.agenda, activity_id=converted.activity_id,
                                   origin="import", import_ref="again#2")
    assert result.id == converted.activity_id and result.version == 2  # planned + held
    assert await agenda.store.head() == head


async def test_bad_rows_are_named_and_the_good_ones_still_imported(agenda, tmp_path, capsys):
    path = write_csv(
        tmp_path,
        ",Rapat koordinasi baik,2023-05-02,09:00,Balaikota,walikota;sekda,rapat,"
        "https://example.org/1,,,setda",
        ",Tanggal salah,2023-02-30,,,,rapat,,,,setda",
        ",Unit tak dikenal,2023-05-03,,,,rapat,,,,dinas_entah",
        ",Judul\x00dengan NUL,2023-05-04,,,,rapat,,,,setda",
        ',"Pimpinan, tak dikenal",2023-05-05,,,bupati,rapat,,,,setda',
        ",Kerja bakti baik,2023-05-06,,,,bakti_sosial,,,,setda")
    assert await run(agenda, path) == 1
    out = capsys.readouterr().out
    assert "Diimpor: 2, sudah ada: 0, ditolak: 4" in out
    assert "Baris yang ditolak" in out and "masalah" in out

    report = await importer.import_files(agenda, importer.read_files(path), dry_run=True)
    assert [(p.row, p.column) for p in report.problems] == [
        (3, "date"), (4, "unit_code"), (5, "title"), (6, "leaders_present")]
    assert "NUL" in report.problems[2].message and "bupati" in report.problems[3].message
    titles = {r["title"] for r in await agenda.pool.fetch("SELECT title FROM activities_view")}
    assert titles == {"Rapat koordinasi baik", "Kerja bakti baik"}


async def test_xlsx_rows_with_date_and_time_cells(agenda, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["Dinkes", "Posyandu lansia", date(2024, 3, 5), time(9, 30), "Puskesmas",
                  "kepala_opd", "pelayanan_publik", "https://example.org/p", None, None,
                  "dinkes"])
    sheet.append(["Dinkes", "Vaksinasi massal", "2024-03-06", None, None, None,
                  "pelayanan_publik", None, None, None, "dinkes"])
    sheet.append([None] * 11)
    sheet.append(["Dinkes", "Tanpa kategori", "2024-03-07", None, None, None, None, None,
                  None, None, "dinkes"])
    path = tmp_path / "kegiatan.xlsx"
    book.save(path)

    assert await run(agenda, path) == 1
    rows = {r["title"]: r for r in await agenda.pool.fetch("SELECT * FROM activities_view")}
    assert set(rows) == {"Posyandu lansia", "Vaksinasi massal"}
    posyandu = rows["Posyandu lansia"]
    assert posyandu["starts_at"] == datetime(2024, 3, 5, 2, 30, tzinfo=UTC)  # 09:30 WIB
    assert posyandu["ends_at"] - posyandu["starts_at"] == timedelta(hours=2)
    assert posyandu["status"] == "held" and posyandu["leaders"] == ["kepala_opd"]
    vaksin = rows["Vaksinasi massal"]
    assert vaksin["starts_at"] == datetime(2024, 3, 6, 1, 0, tzinfo=UTC)  # 08:00 WIB
    assert vaksin["status"] == "planned"  # no source: nothing to show it was held
    assert vaksin["location"] is None and "perkiraan" in vaksin["description"]
    report = await importer.import_files(agenda, importer.read_files(path), dry_run=True)
    assert [(p.row, p.column) for p in report.problems] == [(5, "category")]


async def test_dry_run_records_nothing(agenda, capsys):
    assert await run(agenda, ACTIVITIES, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "tidak ada yang dicatat" in out and "Akan diimpor: 66" in out
    assert await agenda.store.head() == 0
    assert await agenda.pool.fetchval("SELECT count(*) FROM units_view") == 0


async def test_history_is_recorded_now_about_the_past(agenda, tmp_path):
    path = write_csv(
        tmp_path,
        ',"Festival, kirab budaya",2022-08-17,19:30,Alun-alun,walikota,festival_budaya,'
        '"https://example.org/berita?id=1",hari pertama dari tiga,"Catatan ""khusus""",setda')
    before = datetime.now(UTC)
    assert await run(agenda, path) == 0
    row = await agenda.pool.fetchrow("SELECT * FROM activities_view")
    assert row["origin"] == "import" and row["status"] == "held"
    assert row["starts_at"] == datetime(2022, 8, 17, 12, 30, tzinfo=UTC)
    assert before - timedelta(seconds=1) <= row["recorded_at"] <= datetime.now(UTC)
    assert row["description"].startswith('Catatan "khusus"')
    assert "https://example.org/berita?id=1" in row["description"]
    events = await agenda.store.read_stream(f"activity-{row['activity_id']}")
    planned, held = events
    assert planned.data["import_ref"] == "kegiatan.csv#2"
    assert planned.metadata["actor"].startswith("import:")
    assert held.type == "activity.held"
    assert held.data["documentation_links"] == ["https://example.org/berita?id=1"]
    assert held.recorded_at >= planned.recorded_at >= before - timedelta(seconds=1)


async def test_units_must_be_active_and_future_rows_are_not_reported_held(agenda, tmp_path):
    path = write_csv(tmp_path,
                     ",Sebelum aktif,2020-06-01,,,,rapat,https://example.org/a,,,setda",
                     ",Rencana depan,2099-06-01,,,,rapat,https://example.org/b,,,setda")
    assert await run(agenda, path, active_from="2021-01-01") == 1
    rows = await agenda.pool.fetch("SELECT title, status FROM activities_view")
    assert [(r["title"], r["status"]) for r in rows] == [("Rencana depan", "planned")]


async def test_an_unreadable_file_records_nothing(agenda, tmp_path, capsys):
    bad = tmp_path / "kegiatan.csv"
    bad.write_text("judul,tanggal\nA,2021-01-01\n", encoding="utf-8")
    assert await run(agenda, bad) == 2
    assert "tidak dapat dibaca" in capsys.readouterr().err
    assert await run(agenda, tmp_path / "tidak-ada.csv") == 2
    assert await agenda.store.head() == 0  # the units file was not imported either


def test_rows_convert_to_commands():
    row = {"unit_code": "setda", "title": "  Rapat  ", "date": "24/02/2021",
           "start_time": "13.30", "leaders_present": "Walikota; sekda;", "category": "rapat",
           "location": "", "source_url": ""}
    converted = importer.to_command(row)
    assert isinstance(converted, importer.Converted) and converted.notes == []
    cmd = converted.command
    assert cmd.starts_at.isoformat() == "2021-02-24T13:30:00+07:00"
    assert cmd.leaders == ["walikota", "sekda"] and cmd.location is None
    assert converted.activity_id == importer.activity_id_for("setda", date(2021, 2, 24),
                                                             "rapat")
    assert importer.to_command({**row, "start_time": "", "leaders_present": ""}).notes == [
        importer.NOTE_NO_TIME]
    assert importer.to_command({**row, "title": "", "start_time": "8"}) == [
        ("title", "wajib diisi"), ("start_time", "jam tidak sah '8' (gunakan JJ:MM, mis. 08:30)")]


async def test_a_repeated_row_is_counted_once_in_dry_and_real_runs(agenda, tmp_path, capsys):
    row = ",Rapat  evaluasi,2023-05-02,,,,rapat,https://example.org/1,,,setda"
    path = write_csv(tmp_path, row, row.replace("Rapat  evaluasi", "rapat evaluasi"))
    for dry_run in (True, False):
        assert await run(agenda, path, dry_run=dry_run) == 0
        out = capsys.readouterr().out
        assert "iimpor: 1, sudah ada: 1, ditolak: 0; dilaporkan terlaksana: 1" in out
        assert "sama dengan baris 2: baris 3" in out
    assert await counts(agenda) == {"unit.registered": 85, "activity.planned": 1,
                                    "activity.held": 1}
