"""Simulated cities on the adapter kit, for the demo and the tests.

Each city keeps the relations it holds in a shared `LedgerJournal` (the domain's RelationLedger
semantics: TRANSFER_OUT lets go, TRANSFER_IN takes, reverts undo, one reply per command_id).
A relation the simulation has never seen belongs to the from_city of the first migration that
mentions it (the city's own records, before any migration), provided that city runs here.

What a city decides the first time it sees a command is drawn from `Chaos` (refusal and failure
rates) and `RefusalRule`s; tax PRECHECK is the source bureau's clearance, refused for the
enterprises listed. How each reply travels (latency, lost, duplicated, late past the command's
deadline) is drawn again on every delivery, re-sends included.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from citybus.cities.kit import CityAdapter, JsonlReplies, MemoryReplies, Verdict
from citybus.cities.ledger_file import LedgerJournal
from citybus.domain.migration import SCOPE_PLANS, Outcome, ReplyReceived, Scope, SendCommand, Step
from citybus.errors import ConfigurationError

__all__ = ["Chaos", "RefusalRule", "SimulatedCities"]

_DECIDING = frozenset({Step.PRECHECK, Step.TRANSFER_OUT, Step.TRANSFER_IN})


@dataclass(frozen=True)
class Chaos:
    latency_s: float = 0.0  # each reply waits uniform(0, latency_s)
    refuse_rate: float = 0.0
    fail_rate: float = 0.0
    lose_rate: float = 0.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0  # the reply arrives after the command's deadline
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("refuse_rate", "fail_rate", "lose_rate", "duplicate_rate", "late_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigurationError(f"{name} must be within [0, 1] (got {getattr(self, name)})")
        if self.latency_s < 0:
            raise ConfigurationError(f"latency must be >= 0 (got {self.latency_s})")


@dataclass(frozen=True)
class RefusalRule:
    """`CITY:STEP:SCOPE[:SUBJECT]` (CITY or SUBJECT may be `*`): that city refuses that step."""

    city: str | None
    step: Step
    scope: Scope
    subject_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> RefusalRule:
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise ConfigurationError(f"refusal rule {text!r} is not CITY:STEP:SCOPE[:SUBJECT]")
        try:
            step, scope = Step(parts[1].upper()), Scope(parts[2].upper())
        except ValueError as exc:
            raise ConfigurationError(f"refusal rule {text!r}: {exc}") from exc
        subject = parts[3] if len(parts) == 4 and parts[3] != "*" else None
        return cls(None if parts[0] == "*" else parts[0], step, scope, subject)

    def matches(self, city: str, command: SendCommand) -> bool:
        return ((self.city is None or self.city == city) and self.step == command.step
                and self.scope == command.scope and self.subject_id in (None, command.subject_id))


@dataclass
class SimulatedCities:
    cities: list[str]
    journal: LedgerJournal = field(default_factory=LedgerJournal)
    chaos: Chaos = field(default_factory=Chaos)
    refusals: list[RefusalRule] = field(default_factory=list)
    clearance_refused: frozenset[str] = frozenset()
    persist_replies: bool = True

    def __post_init__(self) -> None:
        self._rng = random.Random(self.chaos.seed)
        self.lost = self.duplicated = self.late = 0

    def adapters(self) -> dict[str, CityAdapter]:
        result = {}
        for city in self.cities:
            directory = self.journal.directory
            replies = (JsonlReplies(directory / f"replies-{city}.jsonl")
                       if directory and self.persist_replies else MemoryReplies())
            adapter = CityAdapter(city, replies)
            for plan in SCOPE_PLANS:
                for step in Step:
                    adapter.handles(plan.scope, step)(self._handler(city))
            result[city] = adapter
        return result

    def _handler(self, city: str):  # noqa: ANN202 - a kit Handler
        def handle(command: SendCommand) -> Verdict:
            self._maybe_origin(command)
            outcome, reason = self._decide(city, command)
            answer = self.journal.apply(city, command, outcome, reason)
            return Verdict(answer.outcome, answer.reason, answer.package)

        return handle

    def _maybe_origin(self, command: SendCommand) -> None:
        if command.from_city in self.cities and not self.journal.known_anywhere(
                command.subject_id, command.scope, self.cities):
            self.journal.grant(command.from_city, command.subject_id, command.scope)

    def _decide(self, city: str, command: SendCommand) -> tuple[str, str | None]:
        step = Step(command.step)
        if step not in _DECIDING:
            return Outcome.DONE, None
        if (step is Step.PRECHECK and command.scope == Scope.TAX_REGISTRATION
                and command.subject_id in self.clearance_refused):
            return Outcome.REJECTED, f"clearance refused by {city}: unpaid tax or unfiled return"
        if any(rule.matches(city, command) for rule in self.refusals):
            return Outcome.REJECTED, f"{step} of {command.scope} refused by {city}"
        if not (self.chaos.refuse_rate or self.chaos.fail_rate):
            return Outcome.DONE, None  # nothing to draw: seeding a generator from a string costs 4.6 us
        draw = random.Random(f"{self.chaos.seed}:{city}:{command.command_id}").random()
        if draw < self.chaos.refuse_rate:
            return Outcome.REJECTED, f"{step} refused by {city} (simulated)"
        if draw < self.chaos.refuse_rate + self.chaos.fail_rate:
            return Outcome.FAILED, f"{step} failed at {city} (simulated)"
        return Outcome.DONE, None

    def delivery(self, command: SendCommand, reply: ReplyReceived) -> list[float]:
        """Seconds from now of each send of `reply`; [] when it is lost."""
        chaos, rng = self.chaos, self._rng
        if rng.random() < chaos.lose_rate:
            self.lost += 1
            return []
        delay = rng.uniform(0, chaos.latency_s) if chaos.latency_s else 0.0
        if rng.random() < chaos.late_rate:
            self.late += 1
            delay = max(delay, (command.deadline - time.time_ns() // 1_000_000) / 1000 + 0.05)
        if rng.random() < chaos.duplicate_rate:
            self.duplicated += 1
            return [delay, delay + rng.uniform(0, 0.2)]
        return [delay]

    def stats(self) -> dict[str, int]:
        return {"lost": self.lost, "duplicated": self.duplicated, "late": self.late}
