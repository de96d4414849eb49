"""The publication rules and the neutrality terms, as shipped and as validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from services.newsroom.domain import ActivityFacts, task_id_for
from services.newsroom.rules import (
    DEFAULT_RULES_PATH,
    Due,
    NeutralityTerms,
    PublicationRules,
    load_neutrality,
    load_rules,
)
from shared.contracts.types import WIB

RULES = load_rules()
NEUTRALITY = load_neutrality()
START = datetime(2030, 3, 2, 8, tzinfo=WIB)
END = datetime(2030, 3, 2, 11, tzinfo=WIB)


def activity(visibility="public", leaders=("walikota",), category="pelayanan_publik",
             starts_at=START, ends_at=END, title="Posyandu balita serentak") -> ActivityFacts:
    return ActivityFacts(activity_id="5b0a7f3e-0000-4000-8000-000000000001",
                         unit_code="dinkes", title=title, description="Pemeriksaan balita",
                         location="Kelurahan Balowerti", category=category,
                         visibility=visibility, leaders=tuple(leaders), starts_at=starts_at,
                         ends_at=ends_at)


def test_public_activity_with_the_walikota_gets_the_full_plan():
    plan = {p.rule_id: p for p in RULES.plan(activity())}
    wib = {rule: (p.kind, p.channel, p.due_at.astimezone(WIB).isoformat())
           for rule, p in plan.items()}
    assert wib == {
        "public-teaser-instagram": ("social_teaser", "instagram", "2030-03-01T09:00:00+07:00"),
        "public-coverage": ("coverage", "website", "2030-03-02T08:00:00+07:00"),
        "public-press-release-website": ("press_release", "website",
                                         "2030-03-02T14:00:00+07:00"),
        "public-recap-instagram": ("social_recap", "instagram", "2030-03-02T17:00:00+07:00"),
        "leader-teaser-facebook": ("social_teaser", "facebook", "2030-03-01T09:00:00+07:00"),
        "leader-press-release-media": ("press_release", "media_massa",
                                       "2030-03-02T14:00:00+07:00"),
        "leader-recap-facebook": ("social_recap", "facebook", "2030-03-02T17:00:00+07:00"),
        "leader-recap-x": ("social_recap", "x", "2030-03-02T17:00:00+07:00"),
    }
    teaser = plan["public-teaser-instagram"]
    assert teaser.title == "Teaser (Instagram): Posyandu balita serentak"
    assert "Lokasi: Kelurahan Balowerti" in teaser.brief and "Wali Kota" in teaser.brief
    assert teaser.task_id == task_id_for(activity().activity_id, "public-teaser-instagram")


def test_the_issue_minimum_kinds_are_all_planned():
    kinds = {p.kind for p in RULES.plan(activity())}
    assert {"press_release", "social_teaser", "social_recap", "coverage"} <= kinds


def test_internal_meetings_get_less():
    public = RULES.plan(activity(leaders=()))
    internal_leader = RULES.plan(activity(visibility="internal"))
    internal_plain = RULES.plan(activity(visibility="internal", leaders=(), category="rapat"))
    assert len(public) == 4
    assert [p.rule_id for p in internal_leader] == ["internal-coverage",
                                                    "internal-press-release-website"]
    assert internal_leader[0].public is False
    assert internal_plain == []


def test_festival_gets_video():
    channels = {p.channel for p in RULES.plan(activity(category="festival_budaya", leaders=()))}
    assert {"youtube", "tiktok"} <= channels


def test_due_days_count_on_the_wib_calendar():
    # 06:00 WIB on 2 March is still 1 March in UTC; the teaser is due 1 March WIB.
    start = datetime(2030, 3, 1, 23, 0, tzinfo=UTC)
    due = Due(anchor="start", days=-1, at="09:00").resolve(start, start + timedelta(hours=2))
    assert due == datetime(2030, 3, 1, 9, 0, tzinfo=WIB)
    assert due.utcoffset() == timedelta(hours=7)


def test_nothing_but_coverage_is_due_in_the_night():
    evening = activity(category="festival_budaya", starts_at=datetime(2030, 7, 2, 19, tzinfo=WIB),
                       ends_at=datetime(2030, 7, 2, 22, tzinfo=WIB))
    due = {p.rule_id: p.due_at.isoformat() for p in RULES.plan(evening)}
    assert due["public-coverage"] == "2030-07-02T19:00:00+07:00"       # at the event
    assert due["event-video-youtube"] == "2030-07-02T19:00:00+07:00"
    assert due["public-press-release-website"] == "2030-07-03T06:00:00+07:00"  # not 01:00
    assert due["public-recap-instagram"] == "2030-07-03T06:00:00+07:00"        # not 04:00
    # Cancelled at 03:00 WIB: +2 h is 05:00, before hours, so 06:00.
    late = RULES.correction_task(evening, "instagram", datetime(2030, 7, 2, 20, tzinfo=UTC))
    assert late.due_at.isoformat() == "2030-07-03T06:00:00+07:00"


def test_task_ids_are_stable_and_distinct():
    a = task_id_for("activity-1", "public-coverage")
    assert a == task_id_for("activity-1", "public-coverage")
    assert a != task_id_for("activity-2", "public-coverage")
    assert a != task_id_for("activity-1", "public-teaser-instagram")


def test_long_titles_are_cut_to_the_contract_limit():
    title = RULES.plan(activity(title="x" * 200))[0].title
    assert len(title) == 200 and title.endswith("…")


def _raw() -> dict:
    return yaml.safe_load(Path(DEFAULT_RULES_PATH).read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["rules"].append(dict(r["rules"][0])), "used twice"),
    (lambda r: r["rules"][0]["due"].update(hours=2), "either `at` or hours"),
    (lambda r: r["rules"][0].update(channel="myspace"), "channel"),
    (lambda r: r["rules"][0]["when"].update(leaders_any=["presiden"]), "leaders_any"),
    (lambda r: r["kinds"].pop("correction"), "correction"),
])
def test_invalid_rules_are_refused_on_load(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ValidationError, match=message):
        PublicationRules.model_validate(raw)


@pytest.mark.parametrize("text, hits", [
    ("Ayo coblos nomor urut 2 di TPS!", ["coblos", "nomor urut 2"]),
    ("Didukung PARTAI GOLKAR dan pkb", ["PARTAI GOLKAR", "pkb"]),
    ("Paslon 01 menyapa warga", ["Paslon 01"]),
    ("Kader PDI-P hadir", ["PDI-P"]),
    ("Wisuda PKBM Kota Kediri", []),                 # whole words only
    ("Pembayaran PBB-P2 diperpanjang", []),          # the land tax, not the party
    ("Kampanye imunisasi campak di Posyandu", []),
    ("Semangat yang bergelora", []),
])
def test_neutrality_terms_match_whole_words_case_insensitively(text, hits):
    assert NEUTRALITY.hits(text) == hits


def test_a_bad_pattern_is_refused():
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        NeutralityTerms(version="x", terms=["abc"], patterns=["(unclosed"])
