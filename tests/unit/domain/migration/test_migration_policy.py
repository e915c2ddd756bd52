from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybus.domain.migration import DEFAULT_POLICY, MS_PER_DAY, SagaPolicy, deadline_after
from citybus.errors import ConfigurationError


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-11-20T10:00:00", 1, "2026-11-23T10:00:00"),  # Friday -> Monday
        ("2026-11-19T10:00:00", 2, "2026-11-23T10:00:00"),  # Thursday -> Monday
        ("2026-11-23T10:00:00", 5, "2026-11-30T10:00:00"),  # Monday -> next Monday
        ("2026-11-21T10:00:00", 1, "2026-11-23T10:00:00"),  # Saturday -> Monday
        ("2026-11-22T08:00:00", 1, "2026-11-23T08:00:00"),  # Sunday -> Monday
        ("2026-11-22T08:00:00", 5, "2026-11-27T08:00:00"),  # Sunday -> Friday
        ("2026-11-20T23:59:59", 6, "2026-11-30T23:59:59"),  # Friday -> Monday week after
        ("2026-11-20T10:00:00", 15, "2026-12-11T10:00:00"),  # three weeks
        ("2026-11-20T10:00:00", 0, "2026-11-20T10:00:00"),
        ("2026-12-31T12:00:00", 1, "2027-01-01T12:00:00"),  # no holidays, only weekends
    ],
)
def test_working_days_skip_weekends(start, days, expected):
    assert deadline_after(ms(start), days, None) == ms(expected)


@given(st.integers(0, 4_000_000_000_000), st.integers(0, 40))
def test_working_days_match_counting_day_by_day(now, days):
    moment, left = datetime.fromtimestamp(now / 1000, tz=UTC), days
    while left:
        moment += timedelta(days=1)
        left -= moment.weekday() < 5
    result = deadline_after(now, days)
    assert result == now + (moment.date() - datetime.fromtimestamp(now / 1000, tz=UTC).date()).days * MS_PER_DAY
    assert datetime.fromtimestamp(result / 1000, tz=UTC).weekday() < 5 or days == 0


def test_time_scale_maps_a_working_day_to_a_duration():
    assert deadline_after(5_000, 15, 1_000) == 20_000
    assert deadline_after(ms("2026-11-20T10:00:00"), 1, 250) == ms("2026-11-20T10:00:00") + 250


@pytest.mark.parametrize("working_day_ms", [None, 1_000])
def test_a_negative_number_of_working_days_is_refused(working_day_ms):
    """It would answer a deadline before `now`, which fires at once, in either time scale."""
    with pytest.raises(ValueError, match="working_days"):
        deadline_after(ms("2026-11-20T10:00:00"), -1, working_day_ms)


@pytest.mark.parametrize(
    ("scope", "step", "days"),
    [
        ("PENSION", "PRECHECK", 15), ("PENSION", "TRANSFER_OUT", 15), ("PENSION", "TRANSFER_IN", 15),
        ("MEDICAL", "PRECHECK", 10), ("MEDICAL", "TRANSFER_OUT", 10), ("MEDICAL", "TRANSFER_IN", 5),
        ("HOUSEHOLD", "PRECHECK", 10), ("PROVIDENT_FUND", "TRANSFER_IN", 10),
        ("TAX_REGISTRATION", "TRANSFER_OUT", 10), ("PENSION", "REVERT_OUT", 10), ("MEDICAL", "REVERT_IN", 10),
    ],
)
def test_default_service_levels(scope, step, days):
    assert DEFAULT_POLICY.days_for(scope, step) == days


def test_overrides_keep_the_other_defaults():
    policy = SagaPolicy(step_days={("MEDICAL", "TRANSFER_IN"): 3, "PENSION.PRECHECK": 20}, default_days=7)
    assert policy.days_for("MEDICAL", "TRANSFER_IN") == 3
    assert policy.days_for("PENSION", "PRECHECK") == 20
    assert policy.days_for("PENSION", "TRANSFER_OUT") == 15
    assert policy.days_for("HOUSEHOLD", "PRECHECK") == 7


def test_policy_deadline_uses_its_time_scale():
    assert SagaPolicy(working_day_ms=100).deadline(1_000, "MEDICAL", "TRANSFER_IN") == 1_500
    friday = ms("2026-11-20T10:00:00")
    assert SagaPolicy().deadline(friday, "PENSION", "PRECHECK") == ms("2026-12-11T10:00:00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"working_day_ms": 0},
        {"step_days": {("PENSION", "NOPE"): 3}},
        {"step_days": {"PENSION": 3}},
        {"step_days": {("PENSION", "PRECHECK"): 0}},
        {"default_days": 0},
    ],
)
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ConfigurationError):
        SagaPolicy(**kwargs)


def test_the_smallest_configuration_is_accepted():
    """Each bound is ">= 1" (the errors say so): one attempt, a 1 ms working day, one working day."""
    policy = SagaPolicy(max_attempts=1, working_day_ms=1, step_days={"PENSION.PRECHECK": 1}, default_days=1)
    assert policy.days_for("PENSION", "PRECHECK") == 1 and policy.days_for("HOUSEHOLD", "PRECHECK") == 1
