"""The policy file is validated before it can score anyone."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.scoring.domain import DEFAULT_POLICY_PATH, load_policy, parse_policy

VALID = """
version: "t1"
weights: {input: 30, timeliness: 20, realisation: 20, prognosis: 15, publication: 15}
tiers: {apresiasi: 85, normal: 60}
"""


def test_shipped_policy_loads_with_documented_defaults():
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert policy.version == "compliance-v1"
    w = policy.weights
    assert w.input + w.timeliness + w.realisation + w.prognosis + w.publication == 100
    assert isinstance(w.input, Decimal)
    assert policy.timeliness.working_days == 3
    assert policy.realisation.window_days == 7
    assert policy.prognosis.deadline.for_year(2024) == date(2024, 1, 31)
    assert policy.tiers.apresiasi > policy.tiers.normal


def test_defaults_apply_when_sections_are_left_out():
    policy = parse_policy(VALID)
    assert policy.timeliness.working_days == 3
    assert policy.realisation.window_days == 7
    assert policy.calendar.years == {}


def test_weights_must_add_up_to_100():
    with pytest.raises(ValidationError, match="add up to 100"):
        parse_policy(VALID.replace("publication: 15", "publication: 16"))


def test_decimal_weights_add_up_exactly():
    text = VALID.replace("input: 30", 'input: "29.5"').replace(
        "publication: 15", "publication: 15.5"
    )
    assert parse_policy(text).weights.publication == Decimal("15.5")


def test_tiers_must_be_ordered():
    with pytest.raises(ValidationError, match="normal"):
        parse_policy(VALID.replace("normal: 60", "normal: 90"))


def test_version_must_be_a_string():
    # YAML would read 1.10 as the float 1.1.
    with pytest.raises(ValidationError, match="quoted string"):
        parse_policy(VALID.replace('version: "t1"', "version: 1.10"))


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError):
        parse_policy(VALID + "timelines: {working_days: 5}\n")


def test_deadline_must_exist_every_year():
    with pytest.raises(ValidationError):
        parse_policy(VALID + "prognosis: {deadline: {month: 2, day: 29}}\n")


def test_previous_year_deadline():
    policy = parse_policy(VALID + "prognosis: {deadline: {month: 12, day: 15, year_offset: -1}}\n")
    assert policy.prognosis.deadline.for_year(2024) == date(2023, 12, 15)


def test_calendar_dates_must_belong_to_their_year():
    text = VALID + (
        "calendar:\n  years:\n    2023:\n      decree: x\n      cuti_bersama: {2024-12-26: Natal}\n"
    )
    with pytest.raises(ValidationError, match="another year"):
        parse_policy(text)


def test_policy_is_immutable():
    policy = parse_policy(VALID)
    with pytest.raises(ValidationError):
        policy.version = "changed"
