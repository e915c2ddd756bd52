"""What the saga hears (events, past tense) and what it asks for (commands, imperative)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "MigrationRequested",
    "ReplyReceived",
    "DeadlineExpired",
    "SendCommand",
    "ScopeProgress",
    "PublishStatus",
    "Event",
    "Command",
    "STATUS_TOPIC",
]

STATUS_TOPIC = "bus.migration.status"


def _frozen_package(package: Mapping[str, str] | None) -> dict[str, str]:
    return {str(key): str(value) for key, value in (package or {}).items()}


@dataclass(frozen=True)
class MigrationRequested:
    migration_id: str
    subject_type: str
    subject_id: str
    from_city: str
    to_city: str
    scopes: tuple[str, ...] = ()
    requested_at: int = 0
    requested_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", tuple(self.scopes))


@dataclass(frozen=True)
class ReplyReceived:
    command_id: str
    migration_id: str
    scope: str
    step: str
    city: str
    outcome: str
    reason: str | None = None
    package: Mapping[str, str] = field(default_factory=dict, hash=False)
    replied_at: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "package", _frozen_package(self.package))

    @classmethod
    def answering(
        cls,
        command: Any,
        city: str,
        outcome: str,
        replied_at: int,
        reason: str | None = None,
        package: Mapping[str, str] | None = None,
    ) -> ReplyReceived:
        """The reply `city` gives to `command` (any object with the MigrationCommand fields)."""
        return cls(
            command.command_id, command.migration_id, command.scope, command.step,
            city, outcome, reason, package or {}, replied_at,
        )


@dataclass(frozen=True)
class DeadlineExpired:
    migration_id: str
    command_id: str
    at: int


@dataclass(frozen=True)
class SendCommand:
    """A MigrationCommand for `city`, to be sent on `topic` keyed by `subject_id`."""

    command_id: str
    migration_id: str
    scope: str
    step: str
    subject_type: str
    subject_id: str
    from_city: str
    to_city: str
    attempt: int
    deadline: int
    package: Mapping[str, str] = field(default_factory=dict, hash=False)
    city: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "package", _frozen_package(self.package))

    @property
    def topic(self) -> str:
        return f"city.{self.city}.commands"

    @property
    def key(self) -> str:
        return self.subject_id

    def record(self) -> dict[str, Any]:
        """The MigrationCommand record's fields (without the target city)."""
        return {
            "command_id": self.command_id, "migration_id": self.migration_id,
            "scope": str(self.scope), "step": str(self.step),
            "subject_type": str(self.subject_type), "subject_id": self.subject_id,
            "from_city": self.from_city, "to_city": self.to_city,
            "attempt": self.attempt, "deadline": self.deadline, "package": dict(self.package),
        }


@dataclass(frozen=True)
class ScopeProgress:
    scope: str
    status: str
    step: str


@dataclass(frozen=True)
class PublishStatus:
    """A MigrationStatusChanged, to be published on `bus.migration.status` keyed by `migration_id`."""

    migration_id: str
    subject_type: str
    subject_id: str
    from_city: str
    to_city: str
    status: str
    reason: str | None
    scopes: tuple[ScopeProgress, ...]
    updated_at: int

    topic = STATUS_TOPIC

    @property
    def key(self) -> str:
        return self.migration_id

    def record(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id, "subject_type": str(self.subject_type),
            "subject_id": self.subject_id, "from_city": self.from_city, "to_city": self.to_city,
            "status": str(self.status), "reason": self.reason,
            "scopes": [{"scope": str(s.scope), "status": str(s.status), "step": str(s.step)} for s in self.scopes],
            "updated_at": self.updated_at,
        }


Event = Union[MigrationRequested, ReplyReceived, DeadlineExpired]
Command = Union[SendCommand, PublishStatus]
