"""Helpers for the migration saga tests: ids, cities, and a `Run` that plays one saga by hand."""
from __future__ import annotations

from dataclasses import dataclass, field

from citybus.domain.ids import enterprise_id_check_char, resident_id_check_char
from citybus.domain.migration import (
    DeadlineExpired,
    MigrationRequested,
    PublishStatus,
    RelationLedger,
    ReplyReceived,
    SagaPolicy,
    SagaState,
    SendCommand,
    StepState,
    transition,
)

SZ, ZS, DG = "440300", "442000", "441900"
KNOWN = frozenset({"440300", "442000", "441900", "310000", "320500", "330400"})
RID = "44030119900101123" + resident_id_check_char("44030119900101123")
RID2 = "31010119850505432" + resident_id_check_char("31010119850505432")
ENT = "91440300MA5FXXXX1" + enterprise_id_check_char("91440300MA5FXXXX1")
T0 = 1_795_334_400_000  # 2026-11-22T08:00:00Z, a Sunday
DAY = 1_000  # the tests' time scale: one working day = one second
POLICY = SagaPolicy(working_day_ms=DAY, known_cities=KNOWN)


def request(
    migration_id: str = "m-1", subject_type: str = "PERSON", subject_id: str | None = None,
    from_city: str = SZ, to_city: str = ZS, scopes: tuple[str, ...] = ("PENSION",), at: int = T0,
) -> MigrationRequested:
    if subject_id is None:
        subject_id = RID if subject_type == "PERSON" else ENT
    return MigrationRequested(migration_id, subject_type, subject_id, from_city, to_city, scopes, at, "tester")


@dataclass
class Run:
    """One saga driven by hand: the cities answer through a RelationLedger."""

    policy: SagaPolicy = POLICY
    state: SagaState | None = None
    commands: list = field(default_factory=list)
    published: list[PublishStatus] = field(default_factory=list)
    ledger: RelationLedger = field(default_factory=RelationLedger)
    now: int = T0

    def feed(self, event) -> list:
        self.state, self.commands = transition(self.state, event, self.policy)
        self.published += [c for c in self.commands if isinstance(c, PublishStatus)]
        return self.commands

    def sends(self, step: str | None = None) -> list[SendCommand]:
        return [c for c in self.commands if isinstance(c, SendCommand) and (step is None or c.step == step)]

    def sent(self, step: str | None = None) -> SendCommand:
        (command,) = self.sends(step)
        return command

    def answer(self, command: SendCommand, outcome: str = "DONE", reason: str | None = None, lost: bool = False) -> list:
        """The city handles `command` (applied once by command_id) and its reply arrives, unless `lost`."""
        self.now += 1
        reply = self.ledger.reply(command.city, command, self.now, outcome, reason)
        return [] if lost else self.feed(reply)

    def deliver(self, reply: ReplyReceived) -> list:
        return self.feed(reply)

    def expire(self, command: SendCommand) -> list:
        """Fire the deadline the saga holds for `command` at exactly that deadline."""
        at = self.step_of(command).deadline
        assert at is not None, f"{command.command_id} awaits nothing"
        self.now = max(self.now, at)
        return self.feed(DeadlineExpired(command.migration_id, command.command_id, at))

    def step_of(self, command: SendCommand) -> StepState:
        step = self.state.scope(command.scope).step_by_command(command.command_id)
        assert step is not None
        return step

    def scope_status(self, scope: str = "PENSION") -> str:
        return self.state.scope(scope).status

    def steps(self, scope: str = "PENSION") -> list[tuple[str, str, int]]:
        return [(s.step, s.status, s.attempts) for s in self.state.scope(scope).steps]

    def run_to_transfer_in(self, scope: str = "PENSION") -> SendCommand:
        self.answer(self.sent("PRECHECK"))
        self.answer(self.sent("TRANSFER_OUT"))
        return self.sent("TRANSFER_IN")

