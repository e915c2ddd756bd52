"""The saga's service levels come from configuration (migration.md: "set in configuration")."""
from __future__ import annotations

import pytest

from citybus.errors import ConfigurationError
from citybus.migration.service import policy_from_settings
from citybus.settings import settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    settings.cache_clear()
    yield monkeypatch.setenv
    settings.cache_clear()


def test_step_days_override_the_defaults_and_leave_the_rest(env) -> None:  # noqa: ANN001
    env("CITYBUS_STEP_DAYS", '{"PENSION.PRECHECK": 20, "TAX_REGISTRATION.TRANSFER_IN": 3}')
    env("CITYBUS_WORKING_DAY", "0.5")
    policy = policy_from_settings()
    assert policy.days_for("PENSION", "PRECHECK") == 20
    assert policy.days_for("TAX_REGISTRATION", "TRANSFER_IN") == 3
    assert policy.days_for("PENSION", "TRANSFER_OUT") == 15 and policy.days_for("MEDICAL", "TRANSFER_IN") == 5
    assert policy.deadline(1_000, "PENSION", "PRECHECK") == 1_000 + 20 * 500


@pytest.mark.parametrize("value, named", [('{"PENSION.LUNCH": 3}', "PENSION.LUNCH"),
                                          ('{"PARKING.PRECHECK": 3}', "PARKING.PRECHECK")])
def test_an_unknown_step_is_refused_with_its_key(env, value: str, named: str) -> None:  # noqa: ANN001
    env("CITYBUS_STEP_DAYS", value)
    with pytest.raises(ConfigurationError, match=f"^CITYBUS_STEP_DAYS: '{named}'"):  # the variable an operator sets
        policy_from_settings()


def test_less_than_a_day_is_refused(env) -> None:  # noqa: ANN001
    env("CITYBUS_STEP_DAYS", '{"MEDICAL.PRECHECK": 0}')
    with pytest.raises(ConfigurationError, match="^CITYBUS_STEP_DAYS: .*MEDICAL.PRECHECK=0"):
        policy_from_settings()
