"""The participant registry and the topic catalog as values."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

__all__ = ["City", "TopicSpec", "ConsumerGroupLevel", "Catalog"]


@dataclass(frozen=True)
class City:
    code: str
    name: str
    region: str = ""
    policy: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    record: str
    key: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    retention_ms: int
    cleanup_policy: str
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    city: str | None = None
    kind: str = ""  # the name with the city left out: "insurance.contributions", "bus.deadletter"
    max_message_bytes: int | None = None  # None: the broker's default (1 MB)

    def configs(self, brokers: int) -> dict[str, str]:
        """Topic-level configs as the broker stores them, for a cluster of `brokers` nodes."""
        replicas = self.replicas(brokers)
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min(self.min_insync_replicas, max(1, replicas - 1))),
            **({"max.message.bytes": str(self.max_message_bytes)} if self.max_message_bytes else {}),
        }

    def replicas(self, brokers: int) -> int:
        return max(1, min(self.replication_factor, brokers))

    def internal(self, name: str, service: str, cleanup_policy: str, retention_ms: int) -> TopicSpec:
        """A service's own topic (a changelog, a repartition or detour topic), with this topic's
        partitions, replication and record size limit, written and read by `service` alone."""
        return TopicSpec(name=name, record="", key="", partitions=self.partitions,
                         replication_factor=self.replication_factor, min_insync_replicas=self.min_insync_replicas,
                         retention_ms=retention_ms, cleanup_policy=cleanup_policy, writers=(service,),
                         readers=(service,), max_message_bytes=self.max_message_bytes)


@dataclass(frozen=True)
class ConsumerGroupLevel:
    group: str
    service: str
    max_lag_seconds: float | None


@dataclass(frozen=True)
class Catalog:
    cities: dict[str, City]
    topics: tuple[TopicSpec, ...]
    groups: dict[str, ConsumerGroupLevel]
    policy_defaults: dict[str, int]

    @functools.cached_property
    def city_codes(self) -> frozenset[str]:
        """Computed once: every event's city is checked against it."""
        return frozenset(self.cities)

    def policy(self, city: str, name: str) -> int:
        """A city's policy value, or the catalog's default when the city sets none."""
        found = self.cities.get(city)
        if found is not None and name in found.policy:
            return found.policy[name]
        return self.policy_defaults[name]

    def topic(self, name: str) -> TopicSpec:
        for spec in self.topics:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def city_topics(self, kind: str) -> list[TopicSpec]:
        """Every city's topic of one kind, e.g. `insurance.contributions`, in city-code order."""
        return sorted((t for t in self.topics if t.kind == kind and t.city), key=lambda t: t.city or "")

    def city_of_topic(self, name: str) -> str | None:
        """The `<code>` of a `city.<code>.*` topic, else None."""
        parts = name.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == "city" else None
