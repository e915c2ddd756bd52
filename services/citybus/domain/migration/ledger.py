"""A city's side of migrations as a model: which relations it holds, applied by command_id once."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from citybus.domain.migration.messages import ReplyReceived
from citybus.domain.migration.vocabulary import Outcome, Step

__all__ = ["LedgerReply", "RelationLedger"]


@dataclass(frozen=True)
class LedgerReply:
    outcome: Outcome
    reason: str | None = None
    package: Mapping[str, str] = field(default_factory=dict, hash=False)


class RelationLedger:
    """The relations (subject, scope) each city holds, changed only through migration commands
    as migration.md's adapter promises: one reply per `(city, command_id)`, applied once;
    REVERT_OUT / REVERT_IN undo that migration's TRANSFER_OUT / TRANSFER_IN at that city if it
    was applied, and otherwise do nothing; both always answer DONE. Mutable, no I/O: the tests'
    cities and the simulated city keep one."""

    def __init__(self, holdings: Iterable[tuple[str, str, str]] = ()) -> None:
        self._held: set[tuple[str, str, str]] = set()
        self._holders: dict[tuple[str, str], set[str]] = {}  # (subject_id, scope) -> cities: an index of _held
        self._replies: dict[tuple[str, str], LedgerReply] = {}
        self._applied: set[tuple[str, str, str, str]] = set()  # (city, migration_id, scope, step)
        for city, subject_id, scope in holdings:
            self.grant(city, subject_id, scope)

    def grant(self, city: str, subject_id: str, scope: str) -> None:
        """A relation that exists before any migration (the city's own records)."""
        self._hold((city, subject_id, str(scope)))

    def _hold(self, relation: tuple[str, str, str]) -> None:
        self._held.add(relation)
        self._holders.setdefault(relation[1:], set()).add(relation[0])

    def _release(self, relation: tuple[str, str, str]) -> None:
        self._held.discard(relation)
        cities = self._holders.get(relation[1:])
        if cities is not None:
            cities.discard(relation[0])
            if not cities:
                del self._holders[relation[1:]]

    def holds(self, city: str, subject_id: str, scope: str) -> bool:
        return (city, subject_id, str(scope)) in self._held

    def holders(self, subject_id: str, scope: str) -> set[str]:
        return set(self._holders.get((subject_id, str(scope)), ()))

    def apply(
        self, city: str, command: Any, verdict: str = Outcome.DONE, reason: str | None = None
    ) -> LedgerReply:
        """Handle `command` (anything with the MigrationCommand fields) at `city`. `verdict` is
        what the city decides the first time it sees this command_id (a refusal or failure the
        test or simulation wants); a revert ignores it and answers DONE. Re-sends get the first reply."""
        key = (city, command.command_id)
        if key not in self._replies:
            self._replies[key] = self._first_reply(city, command, Outcome(verdict), reason)
        return self._replies[key]

    def reply(
        self, city: str, command: Any, replied_at: int, verdict: str = Outcome.DONE, reason: str | None = None
    ) -> ReplyReceived:
        """`apply`, answered as the MigrationReply the saga hears."""
        answer = self.apply(city, command, verdict, reason)
        return ReplyReceived.answering(command, city, answer.outcome, replied_at, answer.reason, answer.package)

    def _first_reply(self, city: str, command: Any, verdict: Outcome, reason: str | None) -> LedgerReply:
        step, scope, subject = Step(command.step), str(command.scope), command.subject_id
        relation = (city, subject, scope)
        if step in (Step.REVERT_OUT, Step.REVERT_IN):
            undone = Step.TRANSFER_OUT if step is Step.REVERT_OUT else Step.TRANSFER_IN
            applied = (city, command.migration_id, scope, undone)
            if applied in self._applied:
                self._applied.discard(applied)
                (self._hold if step is Step.REVERT_OUT else self._release)(relation)
            return LedgerReply(Outcome.DONE)
        if verdict is not Outcome.DONE:
            return LedgerReply(verdict, reason or f"{step} {verdict} by {city}")
        if step is Step.TRANSFER_OUT:
            if relation not in self._held:
                return LedgerReply(Outcome.REJECTED, f"{city} holds no {scope} for {subject}")
            self._release(relation)
            self._applied.add((city, command.migration_id, scope, step))
            return LedgerReply(Outcome.DONE, None, {"subject_id": subject, "scope": scope, "from_city": city})
        if step is Step.TRANSFER_IN:
            if relation in self._held:
                return LedgerReply(Outcome.REJECTED, f"{city} already holds {scope} for {subject}")
            self._hold(relation)
            self._applied.add((city, command.migration_id, scope, step))
        return LedgerReply(Outcome.DONE)
