"""The newsroom's configuration: publication rules (rules.yaml) and the ASN
neutrality terms (neutrality.yaml), validated on load. Planning itself is pure."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.newsroom import Channel, TaskKind
from shared.contracts.types import WIB, Category, Code, Leader, Visibility

from .domain import ActivityFacts, PlannedTask, task_id_for

HERE = Path(__file__).resolve().parent
DEFAULT_RULES_PATH = HERE / "rules.yaml"
DEFAULT_NEUTRALITY_PATH = HERE / "neutrality.yaml"

TITLE_MAX = 200
BRIEF_MAX = 5000

LEADER_LABELS = {
    "walikota": "Wali Kota", "wakil_walikota": "Wakil Wali Kota", "pj_walikota": "Pj Wali Kota",
    "sekda": "Sekda", "asisten": "Asisten", "kepala_opd": "Kepala OPD", "camat": "Camat",
    "lurah": "Lurah",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Due(_Frozen):
    anchor: Literal["start", "end"]
    days: int = Field(default=0, ge=-60, le=60)
    at: time | None = None
    hours: int = Field(default=0, ge=-168, le=168)
    minutes: int = Field(default=0, ge=-1440, le=1440)
    # Work that happens at the event itself (coverage) keeps its time even when
    # it falls outside publishing hours.
    anytime: bool = False

    @model_validator(mode="after")
    def _at_or_offset(self) -> Self:
        if self.at is not None and (self.hours or self.minutes):
            raise ValueError("give either `at` or hours/minutes, not both")
        return self

    def resolve(self, starts_at: datetime, ends_at: datetime) -> datetime:
        # Days count on the WIB calendar ("the day before" is the WIB day before).
        base = (starts_at if self.anchor == "start" else ends_at).astimezone(WIB)
        if self.at is not None:
            day = base.date() + timedelta(days=self.days)
            return datetime.combine(day, self.at.replace(tzinfo=None), tzinfo=WIB)
        return base + timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class PublishingHours(_Frozen):
    start: time = time(6, 0)
    end: time = time(21, 0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("publishing_hours: start must be before end")
        return self

    def clamp(self, due: datetime) -> datetime:
        """A due time outside the hours moves to `start`: the same morning when it
        is too early, the next morning when it is too late."""
        local = due.astimezone(WIB)
        clock = local.time().replace(tzinfo=None)
        if clock < self.start:
            return datetime.combine(local.date(), self.start, tzinfo=WIB)
        if clock > self.end:
            return datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=WIB)
        return local


class When(_Frozen):
    visibility: Visibility | None = None
    categories: list[Category] | None = None
    exclude_categories: list[Category] = Field(default_factory=list)
    leaders_any: list[Leader] | None = None

    def matches(self, activity: ActivityFacts) -> bool:
        if self.visibility is not None and activity.visibility != self.visibility:
            return False
        if self.categories is not None and activity.category not in self.categories:
            return False
        if activity.category in self.exclude_categories:
            return False
        return self.leaders_any is None or bool(set(self.leaders_any) & set(activity.leaders))


class Rule(_Frozen):
    id: Code
    when: When = Field(default_factory=When)
    kind: TaskKind
    channel: Channel
    due: Due
    public: bool = True


class KindText(_Frozen):
    label: Annotated[str, Field(min_length=1, max_length=60)]
    brief: Annotated[str, Field(max_length=2000)] = ""


class Correction(_Frozen):
    due_hours_after_cancellation: int = Field(default=2, ge=0, le=168)


class PublicationRules(_Frozen):
    version: str
    kinds: dict[TaskKind, KindText]
    channels: dict[Channel, Annotated[str, Field(min_length=1, max_length=40)]]
    correction: Correction = Field(default_factory=Correction)
    publishing_hours: PublishingHours | None = None
    # Only there so the YAML can name leader lists once (anchors); not read by code.
    leader_groups: dict[str, list[Leader]] = Field(default_factory=dict)
    rules: list[Rule]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            if rule.kind not in self.kinds:
                raise ValueError(f"rule {rule.id!r}: kind {rule.kind!r} has no entry in `kinds`")
            if rule.channel not in self.channels:
                raise ValueError(f"rule {rule.id!r}: channel {rule.channel!r} has no label")
            if rule.id.startswith("correction-"):
                raise ValueError(f"rule {rule.id!r}: ids starting 'correction-' are reserved")
        if "correction" not in self.kinds:
            raise ValueError("`kinds` needs an entry for 'correction'")
        return self

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def plan(self, activity: ActivityFacts) -> list[PlannedTask]:
        """The tasks the rules ask for this activity, in rule order."""
        return [self.planned(rule, activity) for rule in self.rules if rule.when.matches(activity)]

    def planned(self, rule: Rule, activity: ActivityFacts) -> PlannedTask:
        return PlannedTask(
            task_id=task_id_for(activity.activity_id, rule.id), rule_id=rule.id,
            kind=rule.kind, channel=rule.channel,
            title=self.title(rule.kind, rule.channel, activity),
            brief=self.brief(rule.kind, activity),
            due_at=self.due_at(rule, activity), public=rule.public)

    def due_at(self, rule: Rule, activity: ActivityFacts) -> datetime:
        due = rule.due.resolve(activity.starts_at, activity.ends_at)
        if self.publishing_hours is None or rule.due.anytime:
            return due
        return self.publishing_hours.clamp(due)

    def correction_task(self, activity: ActivityFacts, channel: str,
                        cancelled_at: datetime) -> PlannedTask:
        key = f"correction-{channel}"
        due = cancelled_at.astimezone(WIB) + timedelta(
            hours=self.correction.due_hours_after_cancellation)
        if self.publishing_hours is not None:
            due = self.publishing_hours.clamp(due)
        return PlannedTask(task_id=task_id_for(activity.activity_id, key), rule_id=key,
                           kind="correction", channel=channel,
                           title=self.title("correction", channel, activity),
                           brief=self.brief("correction", activity), due_at=due)

    def title(self, kind: str, channel: str, activity: ActivityFacts) -> str:
        title = f"{self.kinds[kind].label} ({self.channels[channel]}): {activity.title}"
        return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"

    def brief(self, kind: str, activity: ActivityFacts) -> str:
        # Times stay out of the brief: the task's due_at and the activity record
        # carry them, so a reschedule does not have to rewrite every brief.
        parts = [self.kinds[kind].brief]
        if activity.description:
            parts.append(activity.description)
        if activity.location:
            parts.append(f"Lokasi: {activity.location}")
        if activity.leaders:
            parts.append("Dihadiri: " + ", ".join(LEADER_LABELS.get(x, x)
                                                   for x in activity.leaders))
        brief = "\n\n".join(p for p in parts if p)
        return brief if len(brief) <= BRIEF_MAX else brief[: BRIEF_MAX - 1] + "…"


# Letters of other scripts that look like Latin ones, as used to disguise words.
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "к": "k", "м": "m", "т": "t",
    "в": "b", "н": "h", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J",
    "Ѕ": "S", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y",
    "Χ": "X"})


def normalise(text: str) -> str:
    """NFKC (fullwidth and other compatibility forms), without format characters
    (zero-width spaces and joiners), with look-alike letters mapped to Latin."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return visible.translate(_CONFUSABLES)


class NeutralityTerms(_Frozen):
    version: str
    terms: list[Annotated[str, Field(min_length=2, max_length=100)]]
    patterns: list[Annotated[str, Field(min_length=2, max_length=300)]] = Field(
        default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") \
                    from exc
        return patterns

    @cached_property
    def _regexes(self) -> list[re.Pattern[str]]:
        # Whole words by lookaround rather than \b, so terms that begin or end with
        # punctuation ("PDI-P", "no.") still match at word edges.
        literal = [r"\s+".join(re.escape(w) for w in t.split()) for t in self.terms]
        return [re.compile(rf"(?<!\w)(?:{p})(?!\w)", re.IGNORECASE)
                for p in (*literal, *self.patterns)]

    def hits(self, text: str) -> list[str]:
        """The partisan terms found in `text`, as written there, in order, without
        repeats; a match inside a longer one ("Gerindra" in "Partai Gerindra") is
        not listed again. The text is normalised first, so look-alike spellings
        (fullwidth letters, hidden zero-width characters, Cyrillic or Greek letters
        that look Latin) cannot slip past."""
        text = normalise(text)
        spans = sorted((m.start(), -m.end(), m.group()) for r in self._regexes
                        for m in r.finditer(text))
        found: list[str] = []
        seen: set[str] = set()
        covered = -1
        for _start, neg_end, written in spans:
            if -neg_end <= covered:
                continue
            covered = max(covered, -neg_end)
            key = " ".join(written.lower().split())
            if key not in seen:
                seen.add(key)
                found.append(written)
        return found


def _read(path: Path) -> object:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_rules(path: Path = DEFAULT_RULES_PATH) -> PublicationRules:
    return PublicationRules.model_validate(_read(path))


def load_neutrality(path: Path = DEFAULT_NEUTRALITY_PATH) -> NeutralityTerms:
    return NeutralityTerms.model_validate(_read(path))
