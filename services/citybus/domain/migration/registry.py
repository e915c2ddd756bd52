"""Which migration holds which scope of a subject, so two sagas never move the same relation."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from citybus.domain.migration.state import SagaState

__all__ = ["SubjectRegistry", "conflicting_migration", "held_after"]


def conflicting_migration(
    held: Mapping[str, str], scopes: Iterable[str], migration_id: str | None = None
) -> str | None:
    """The migration in progress on any of `scopes` of one subject (other than `migration_id`), if any."""
    for scope in scopes:
        holder = held.get(str(scope))
        if holder is not None and holder != migration_id:
            return holder
    return None


def held_after(held: Mapping[str, str], state: SagaState) -> dict[str, str]:
    """One subject's `{scope: migration_id}` once `state` is taken into account: its
    unfinished scopes claimed, its final ones (and a refused request's) released."""
    result = dict(held)
    for scope in state.scopes:
        name = str(scope.scope)
        if scope.final or state.final:
            if result.get(name) == state.migration_id:
                del result[name]
        elif name not in result:
            result[name] = state.migration_id
    return result


@dataclass(frozen=True)
class SubjectRegistry:
    """subject_id -> {scope: migration_id in progress}. The caller may instead keep one
    `{scope: migration_id}` per subject in a table keyed by subject_id (the requests',
    commands' and replies' key) and use the two functions above."""

    held: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        frozen = {subject: MappingProxyType(dict(scopes)) for subject, scopes in self.held.items() if scopes}
        object.__setattr__(self, "held", MappingProxyType(frozen))

    def holding(self, subject_id: str) -> Mapping[str, str]:
        return self.held.get(subject_id, {})

    def conflict(self, subject_id: str, scopes: Iterable[str], migration_id: str | None = None) -> str | None:
        return conflicting_migration(self.holding(subject_id), scopes, migration_id)

    def track(self, state: SagaState) -> SubjectRegistry:
        """Register the saga's unfinished scopes and release its final ones; call after every transition."""
        held = dict(self.held)
        held[state.subject_id] = held_after(self.holding(state.subject_id), state)
        return SubjectRegistry(held)

    def to_dict(self) -> dict[str, Any]:
        return {subject: dict(scopes) for subject, scopes in self.held.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, str]]) -> SubjectRegistry:
        return cls(data)
