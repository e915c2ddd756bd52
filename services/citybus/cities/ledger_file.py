"""The simulated cities' relations, kept as the domain's RelationLedger plus a journal file.

`ledger.jsonl` holds every grant and every first application of a command, in order; replaying
it rebuilds the ledger exactly (its replies included), so a restarted simulation, or a test
reading the file, sees what the cities hold. `ledger.json` is a readable snapshot of holdings.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from citybus.domain.migration import LedgerReply, RelationLedger

__all__ = ["LedgerJournal", "QuietSnapshots", "JOURNAL", "SNAPSHOT"]

JOURNAL = "ledger.jsonl"
SNAPSHOT = "ledger.json"
_COMMAND_FIELDS = ("command_id", "migration_id", "scope", "step", "subject_id")


class LedgerJournal:
    def __init__(self, directory: Path | None = None) -> None:
        self.ledger = RelationLedger()
        self.relations: set[tuple[str, str]] = set()  # (subject_id, scope) ever touched
        self.seen: set[tuple[str, str, str]] = set()  # (city, subject_id, scope) a city has dealt with
        self.directory = Path(directory) if directory else None
        self._file = None
        self._changes = 0  # entries recorded so far, so an unchanged snapshot is not written again
        self._snapshot_at = -1
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / JOURNAL
            if path.exists():
                for line in path.read_text().splitlines():
                    if line.strip():
                        self._replay(json.loads(line))
            self._file = path.open("a")

    @classmethod
    def read(cls, directory: Path) -> LedgerJournal:
        """The ledger as the journal in `directory` has it (read-only use, e.g. by a test)."""
        journal = cls()
        path = Path(directory) / JOURNAL
        for line in path.read_text().splitlines() if path.exists() else ():
            if line.strip():
                journal._replay(json.loads(line))
        return journal

    def holders(self, subject_id: str, scope: str) -> set[str]:
        return self.ledger.holders(subject_id, scope)

    def grant(self, city: str, subject_id: str, scope: str) -> None:
        entry = {"grant": [city, subject_id, str(scope)]}
        self._grant(entry)
        self._record(entry)

    def apply(self, city: str, command: Any, verdict: str, reason: str | None) -> LedgerReply:
        entry = {"apply": {f: str(getattr(command, f)) for f in _COMMAND_FIELDS}, "city": city,
                 "verdict": str(verdict), "reason": reason}
        reply = self._apply(entry)
        self._record(entry)
        return reply

    def _record(self, entry: dict[str, Any]) -> None:
        """`entry`, already applied, into the journal."""
        self._changes += 1
        if self._file is not None:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()

    def _replay(self, entry: dict[str, Any]) -> None:
        if "grant" in entry:
            self._grant(entry)
        else:
            self._apply(entry)

    def _grant(self, entry: dict[str, Any]) -> None:
        city, subject_id, scope = entry["grant"]
        self.ledger.grant(city, subject_id, scope)
        self._touch(city, subject_id, scope)

    def _apply(self, entry: dict[str, Any]) -> LedgerReply:
        command = SimpleNamespace(**entry["apply"])
        self._touch(entry["city"], command.subject_id, command.scope)
        return self.ledger.apply(entry["city"], command, entry["verdict"], entry["reason"])

    def _touch(self, city: str, subject_id: str, scope: str) -> None:
        self.relations.add((subject_id, scope))
        self.seen.add((city, subject_id, scope))

    def holdings(self) -> dict[str, list[list[str]]]:
        """city -> [[subject_id, scope], ...] held now."""
        result: dict[str, list[list[str]]] = {}
        for subject_id, scope in sorted(self.relations):
            for city in sorted(self.holders(subject_id, scope)):
                result.setdefault(city, []).append([subject_id, scope])
        return result

    def write_snapshot(self) -> None:
        if self.directory and self._snapshot_at != self._changes:
            self._snapshot_at = self._changes
            tmp = self.directory / (SNAPSHOT + ".tmp")
            tmp.write_text(json.dumps({"holdings": self.holdings()}, indent=1))
            tmp.replace(self.directory / SNAPSHOT)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def known_anywhere(self, subject_id: str, scope: str, cities: Iterable[str]) -> bool:
        return any((city, subject_id, scope) in self.seen for city in cities)


class QuietSnapshots:
    """Writes the journal's snapshot only between bursts of work. Writing it blocks the replies
    (0.26 s at 80,000 relations); rewritten every few seconds under load, those stalls were most
    of the migrations' p99 (740 ms over a 60 s hold at 200/s, against 136 ms without them,
    `citybus bench --only migration`). The runner looks every second: when nothing was handled
    since the last look, the snapshot is written (a no-op when nothing changed since the last one)."""

    def __init__(self, journal: LedgerJournal) -> None:
        self.journal = journal
        self._handled = -1

    def look(self, handled: int) -> bool:
        """`handled`: commands handled so far. True when the cities were quiet and it wrote."""
        quiet, self._handled = handled == self._handled, handled
        if quiet:
            self.journal.write_snapshot()
        return quiet
