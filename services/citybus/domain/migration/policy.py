"""Service levels and retries as configuration, and working-day deadline arithmetic (no clock)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from citybus.domain.migration.vocabulary import Scope, Step
from citybus.errors import ConfigurationError

__all__ = ["MS_PER_DAY", "DEFAULT_DAYS", "DEFAULT_STEP_DAYS", "SagaPolicy", "DEFAULT_POLICY", "deadline_after",
           "step_key"]

MS_PER_DAY = 86_400_000
DEFAULT_DAYS = 10
DEFAULT_STEP_DAYS: Mapping[tuple[Scope, Step], int] = MappingProxyType(
    {
        # 国办发〔2009〕66号
        (Scope.PENSION, Step.PRECHECK): 15,
        (Scope.PENSION, Step.TRANSFER_OUT): 15,
        (Scope.PENSION, Step.TRANSFER_IN): 15,
        # 医保办发〔2021〕43号
        (Scope.MEDICAL, Step.PRECHECK): 10,
        (Scope.MEDICAL, Step.TRANSFER_OUT): 10,
        (Scope.MEDICAL, Step.TRANSFER_IN): 5,
    }
)
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def step_key(key: str | tuple[str, str]) -> tuple[Scope, Step]:
    """`(scope, step)` or `"SCOPE.STEP"` (also `"SCOPE/STEP"`) as a key of `SagaPolicy.step_days`;
    ConfigurationError naming `key` when it is neither."""
    try:
        if isinstance(key, str):
            scope, _, step = key.replace("/", ".").partition(".")
            return Scope(scope), Step(step)
        scope, step = key
        return Scope(scope), Step(step)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"step_days: {key!r} is not (scope, step) or 'SCOPE.STEP'") from exc


@dataclass(frozen=True)
class SagaPolicy:
    """Saga configuration. `step_days` entries override the spec defaults, keyed by
    `(scope, step)`; keys `"SCOPE.STEP"` (configuration's form, see `step_key`) are taken too and
    checked the same. Any step not listed takes `default_days`.
    `working_day_ms` is the time scale (None: real working days). `known_cities`
    is the participant registry used to validate requests (None: format only)."""

    max_attempts: int = 3
    step_days: Mapping[tuple[Scope, Step], int] = field(default_factory=dict, hash=False)
    working_day_ms: int | None = None
    default_days: int = DEFAULT_DAYS
    known_cities: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be >= 1 (got {self.max_attempts})")
        if self.working_day_ms is not None and self.working_day_ms <= 0:
            raise ConfigurationError(f"working_day_ms must be > 0 or None (got {self.working_day_ms})")
        days = dict(DEFAULT_STEP_DAYS)
        days.update({step_key(key): value for key, value in self.step_days.items()})
        short = [f"{scope}.{step}={value}" for (scope, step), value in days.items() if value < 1]
        if self.default_days < 1:
            short.append(f"default_days={self.default_days}")
        if short:
            raise ConfigurationError(f"step_days and default_days must be >= 1 working day (got {', '.join(short)})")
        object.__setattr__(self, "step_days", MappingProxyType(days))
        if self.known_cities is not None:
            object.__setattr__(self, "known_cities", frozenset(self.known_cities))

    def days_for(self, scope: str, step: str) -> int:
        return self.step_days.get((Scope(scope), Step(step)), self.default_days)

    def deadline(self, now_ms: int, scope: str, step: str) -> int:
        return deadline_after(now_ms, self.days_for(scope, step), self.working_day_ms)


DEFAULT_POLICY = SagaPolicy()


def deadline_after(now_ms: int, working_days: int, working_day_ms: int | None = None) -> int:
    """`working_days` after `now_ms`. With a time scale, each working day lasts
    `working_day_ms`; without, count UTC calendar days, skipping Saturdays and Sundays,
    keeping the time of day (Friday 10:00 + 1 is Monday 10:00; Saturday 10:00 + 1 too)."""
    if working_days < 0:
        raise ValueError(f"working_days must be >= 0 (got {working_days})")
    if working_day_ms is not None:
        return now_ms + working_days * working_day_ms
    weeks, rest = divmod(working_days, 5)
    if weeks and not rest:  # land on the last working day itself, not on the weekend after it
        weeks, rest = weeks - 1, 5
    day = now_ms // MS_PER_DAY + 7 * weeks  # any 7 calendar days hold exactly 5 working days
    while rest:
        day += 1
        if (day + _EPOCH_WEEKDAY) % 7 < 5:
            rest -= 1
    return day * MS_PER_DAY + now_ms % MS_PER_DAY
