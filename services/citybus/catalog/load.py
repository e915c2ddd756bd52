"""Reads `topics/participants.yaml` and `topics/topics.yaml` into a Catalog."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from citybus.catalog.model import Catalog, City, ConsumerGroupLevel, TopicSpec
from citybus.domain.ids import validate_city_code
from citybus.errors import ConfigurationError, ValidationError

__all__ = ["load_catalog", "default_catalog"]


def load_catalog(directory: Path) -> Catalog:
    try:
        registry = yaml.safe_load((directory / "participants.yaml").read_text(encoding="utf-8"))
        layout = yaml.safe_load((directory / "topics.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read the topic catalog in {directory}: {exc}") from exc
    cities: dict[str, City] = {}
    for entry in registry["cities"]:
        code = str(entry["code"])
        try:
            validate_city_code(code, field="participants.yaml code")
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from exc
        if code in cities:
            raise ConfigurationError(f"participants.yaml: city {code} listed twice")
        cities[code] = City(code, entry["name"], entry.get("region", ""), dict(entry.get("policy") or {}))
    defaults = layout["defaults"]
    topics = [_topic(t, defaults, code) for code in sorted(cities) for t in layout["city_topics"]]
    topics += [_topic(t, defaults, None) for t in layout["bus_topics"]]
    groups = {
        g["group"]: ConsumerGroupLevel(g["group"], g.get("service", ""), g.get("max_lag_seconds"))
        for g in layout.get("consumer_groups", [])
    }
    return Catalog(cities, tuple(topics), groups, dict(layout["policy_defaults"]))


def _topic(entry: dict, defaults: dict, code: str | None) -> TopicSpec:
    merged = {**defaults, **entry}
    fill = (lambda s: s.replace("{code}", code)) if code else (lambda s: s)
    name = fill(merged["name"])
    kind = ".".join(name.split(".")[2:]) if code else name
    return TopicSpec(
        name=name,
        record=merged["record"],
        key=merged["key"],
        partitions=int(merged["partitions"]),
        replication_factor=int(merged["replication_factor"]),
        min_insync_replicas=int(merged["min_insync_replicas"]),
        retention_ms=int(merged["retention_ms"]),
        cleanup_policy=merged["cleanup_policy"],
        writers=tuple(fill(w) for w in merged.get("writers", [])),
        readers=tuple(fill(r) for r in merged.get("readers", [])),
        city=code,
        kind=kind,
        max_message_bytes=int(merged["max_message_bytes"]) if merged.get("max_message_bytes") else None,
    )


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    from citybus.settings import settings

    return load_catalog(settings().topics_dir)
