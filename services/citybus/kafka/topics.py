"""Makes the cluster's topics match the catalog: create what is missing, fix configs, report drift."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError, for_code

from citybus.catalog import Catalog, TopicSpec
from citybus.errors import BrokerError
from citybus.kafka.closing import stop_admin

__all__ = ["TopicChange", "apply_topics", "describe_topics", "ensure_topics", "ensure_topics_when_reachable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicChange:
    topic: str
    action: str  # created | unchanged | configs-updated | partitions-added | drift
    detail: str = ""


async def apply_topics(bootstrap: str, catalog: Catalog, dry_run: bool = False) -> list[TopicChange]:
    """Idempotent: a second run reports every topic `unchanged`.

    Drift that cannot be mended in place (more partitions than the catalog, another
    replication factor) is reported as `drift`, never "fixed" by deleting data.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        brokers = await _broker_count(admin)
        listed = set(await admin.list_topics())  # describe_topics alone would auto-create them
        wanted = [s.name for s in catalog.topics if s.name in listed]
        existing = {t["topic"]: t for t in (await admin.describe_topics(wanted) if wanted else [])
                    if t["error_code"] == 0}
        changes: list[TopicChange] = []
        missing = [s for s in catalog.topics if s.name not in existing]
        if missing and not dry_run:
            await _create(admin, missing, brokers)
            await _wait_for_leaders(admin, missing)
        changes += [TopicChange(s.name, "created", f"{s.partitions} partitions") for s in missing]
        present = [s for s in catalog.topics if s.name in existing]
        configs = await _configs(admin, [s.name for s in present])
        for spec in present:
            changes.append(await _reconcile(admin, spec, existing[spec.name], configs[spec.name], brokers, dry_run))
        return changes
    finally:
        await stop_admin(admin)


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create those of a service's own topics that are missing (never touching existing ones) and
    wait for their leaders; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        brokers = await _broker_count(admin)
        listed = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in listed]
        if missing:
            await _create(admin, missing, brokers)
            await _wait_for_leaders(admin, missing)
        return [s.name for s in missing]
    finally:
        await stop_admin(admin)


async def ensure_topics_when_reachable(bootstrap: str, specs: list[TopicSpec], retry_s: float = 5.0) -> list[str]:
    """`ensure_topics` once the cluster answers: a service started before its broker (or while it
    restarts) logs a line per attempt and starts when the broker is back, instead of exiting
    with a traceback."""
    while True:
        try:
            return await ensure_topics(bootstrap, specs)
        except KafkaConnectionError as exc:
            log.warning("Kafka at %s is not reachable (%s); retrying in %.0f s", bootstrap, exc, retry_s)
        await asyncio.sleep(retry_s)


async def _broker_count(admin: AIOKafkaAdminClient, reads: int = 3) -> int:
    """The brokers of the cluster, the most of a few reads: each read asks a node of the admin
    client's choosing, and a node whose metadata lags (a broker just started or restarted) lists
    fewer; topics created on that count would keep fewer replicas than the catalog asks, for good."""
    return max([len((await admin.describe_cluster())["brokers"]) for _ in range(reads)])


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec], brokers: int) -> None:
    topics = [NewTopic(s.name, s.partitions, s.replicas(brokers), topic_configs=s.configs(brokers)) for s in specs]
    response = await admin.create_topics(topics, timeout_ms=30000)
    for name, code, *rest in response.topic_errors:
        error = for_code(code)
        if code and error is not TopicAlreadyExistsError:
            raise BrokerError(f"creating topic {name} failed: {error.__name__} {rest[-1] if rest else ''}")


async def _wait_for_leaders(admin: AIOKafkaAdminClient, specs: list[TopicSpec], timeout: float = 60.0) -> None:
    """Return once every new topic has all its partitions with a leader, so writers can start at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {s.name: s.partitions for s in specs}
    while pending:
        for meta in await admin.describe_topics(list(pending)):
            ready = [p for p in meta["partitions"] if p["leader"] >= 0]
            if meta["error_code"] == 0 and len(ready) >= pending.get(meta["topic"], 0):
                pending.pop(meta["topic"], None)
        if pending and loop.time() > deadline:
            raise BrokerError(f"topics without leaders after {timeout:.0f}s: {sorted(pending)}")
        if pending:
            await asyncio.sleep(0.2)


async def _configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for _code, _msg, _type, name, entries in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def _reconcile(admin: AIOKafkaAdminClient, spec: TopicSpec, meta: dict, actual: dict[str, str],
                     brokers: int, dry_run: bool) -> TopicChange:
    notes: list[str] = []
    partitions = len(meta["partitions"])
    replicas = len(meta["partitions"][0]["replicas"]) if meta["partitions"] else 0
    if replicas != spec.replicas(brokers):
        notes.append(f"replication factor {replicas}, catalog wants {spec.replicas(brokers)}")
    if partitions > spec.partitions:
        notes.append(f"{partitions} partitions, catalog has {spec.partitions} (partitions cannot be removed)")
    wanted = spec.configs(brokers)
    differing = {k: v for k, v in wanted.items() if actual.get(k) != v}
    if notes:
        return TopicChange(spec.name, "drift", "; ".join(notes))
    if partitions < spec.partitions:
        if not dry_run:
            await admin.create_partitions({spec.name: NewPartitions(spec.partitions)})
        return TopicChange(spec.name, "partitions-added", f"{partitions} -> {spec.partitions}")
    if differing:
        if not dry_run:
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, spec.name, wanted)])
        shown = ", ".join(f"{k}: {actual.get(k)} -> {v}" for k, v in differing.items())
        return TopicChange(spec.name, "configs-updated", shown)
    return TopicChange(spec.name, "unchanged")


async def describe_topics(bootstrap: str, names: list[str]) -> dict[str, int]:
    """Partition count of each named topic that exists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        listed = set(await admin.list_topics())
        names = [n for n in names if n in listed]
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names) if t["error_code"] == 0}
    finally:
        await stop_admin(admin)
