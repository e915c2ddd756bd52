"""The adapter kit: what a city writes to take part in migrations is one handler per (scope, step).

    adapter = CityAdapter("442000", replies=JsonlReplies(path))

    @adapter.handles("PENSION", "TRANSFER_IN")
    def open_pension(command: SendCommand) -> Verdict:
        ...                                     # the city's own system
        return Verdict.done()

The kit answers each `command_id` once: the first answer is stored (before it is sent) and a
re-sent command gets that same reply without the handler running again. A command no handler
covers is answered FAILED. `AdapterRunner` (citybus.cities.runner) does the Kafka side.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from citybus.codec.mapping.migration import reply_to_avro
from citybus.domain.migration import Outcome, ReplyReceived, Scope, SendCommand, Step
from citybus.errors import ConfigurationError

__all__ = ["Verdict", "Handler", "CityAdapter", "ReplyStore", "MemoryReplies", "JsonlReplies"]


@dataclass(frozen=True)
class Verdict:
    outcome: str = Outcome.DONE
    reason: str | None = None
    package: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def done(cls, package: Mapping[str, str] | None = None) -> Verdict:
        return cls(Outcome.DONE, None, dict(package or {}))

    @classmethod
    def rejected(cls, reason: str) -> Verdict:
        return cls(Outcome.REJECTED, reason)

    @classmethod
    def failed(cls, reason: str) -> Verdict:
        return cls(Outcome.FAILED, reason)


Handler = Callable[[SendCommand], Verdict]


class ReplyStore(Protocol):
    def get(self, command_id: str) -> ReplyReceived | None: ...

    def put(self, reply: ReplyReceived) -> None: ...


class MemoryReplies:
    def __init__(self) -> None:
        self._replies: dict[str, ReplyReceived] = {}

    def get(self, command_id: str) -> ReplyReceived | None:
        return self._replies.get(command_id)

    def put(self, reply: ReplyReceived) -> None:
        self._replies[reply.command_id] = reply


class JsonlReplies(MemoryReplies):
    """Replies kept in a JSON Lines file (one MigrationReply per line), read back at start.
    Enough for a simulation; a real city keeps them next to its own records, in one transaction."""

    def __init__(self, path: Path, fsync: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    MemoryReplies.put(self, ReplyReceived(**json.loads(line)))
        self._file = self.path.open("a")

    def put(self, reply: ReplyReceived) -> None:
        super().put(reply)
        self._file.write(json.dumps(reply_to_avro(reply)) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class CityAdapter:
    def __init__(self, city: str, replies: ReplyStore | None = None, clock: Callable[[], int] = _now_ms) -> None:
        self.city = city
        self.replies = replies if replies is not None else MemoryReplies()
        self.clock = clock
        self._handlers: dict[tuple[Scope, Step], Handler] = {}
        self.applied = 0  # handler runs, for tests and metrics

    def handles(self, scope: str, step: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._handlers[(Scope(scope), Step(step))] = handler
            return handler

        return register

    def register(self, handlers: Mapping[tuple[str, str], Handler]) -> CityAdapter:
        for (scope, step), handler in handlers.items():
            self.handles(scope, step)(handler)
        return self

    def check(self) -> CityAdapter:
        """Refuse an adapter that can transfer what it cannot revert: migration.md promises that a
        REVERT_OUT / REVERT_IN always answers DONE, so a transfer handler needs its revert."""
        missing = [f"{scope} {revert}" for (scope, step) in self._handlers
                   for transfer, revert in ((Step.TRANSFER_OUT, Step.REVERT_OUT), (Step.TRANSFER_IN, Step.REVERT_IN))
                   if step == transfer and (scope, revert) not in self._handlers]
        if missing:
            raise ConfigurationError(f"city {self.city}: no handler for {', '.join(sorted(missing))} "
                                     "(a transfer it handles must be revertible)")
        return self

    def answer(self, command: SendCommand) -> ReplyReceived:
        """The reply to `command`: the stored one for a known command_id, else the handler's."""
        known = self.replies.get(command.command_id)
        if known is not None:
            return known
        handler = self._handlers.get((Scope(command.scope), Step(command.step)))
        if handler is None:
            verdict = Verdict.failed(f"{self.city} has no handler for {command.scope} {command.step}")
        else:
            verdict = handler(command)
            self.applied += 1
        reply = ReplyReceived.answering(command, self.city, verdict.outcome, self.clock(), verdict.reason,
                                        verdict.package)
        self.replies.put(reply)
        return reply
