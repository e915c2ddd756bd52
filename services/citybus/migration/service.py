"""The migration orchestrator: one worker of the consumer group `citybus-migration` on the
stateful worker of citybus.streams (see citybus.migration.orchestrator for what one batch and
one tick do, citybus.migration.web for HTTP).

Topics (6 partitions, co-partitioned):

- in: `bus.migration.requests`, every city's `replies` and `household.moves` (from the catalog:
  a new city needs no code), keyed by subject_id; `citybus-migration-claims` (keyed by
  migration_id) and `citybus-migration-claimed` (keyed by subject_id), the detour of a request
  whose migration_id another worker claims (see the orchestrator);
- out: `city.<code>.commands`, `bus.migration.status`, `bus.deadletter`, the two detour topics;
- state: RocksDB per partition under <data dir>/migration, changelogged to the compacted
  `citybus-migration-state-changelog`.
"""
from __future__ import annotations

import logging
from pathlib import Path

from citybus.bus import DEADLETTER_TOPIC, default_intake
from citybus.catalog import Catalog, TopicSpec, default_catalog
from citybus.domain.migration import SagaPolicy, step_key
from citybus.errors import ConfigurationError
from citybus.kafka.bootstrap import resolve_bootstrap
from citybus.kafka.topics import ensure_topics_when_reachable
from citybus.migration.orchestrator import Orchestrator, now_ms
from citybus.migration.web import MigrationWeb
from citybus.migration.wire import CLAIMED_TOPIC, CLAIMS_TOPIC, REQUESTS_TOPIC
from citybus.settings import settings
from citybus.streams.runtime import tune_gc_for_latency
from citybus.streams.web import advertised_url, run_worker
from citybus.streams.worker import StateWorker, WorkerConfig

__all__ = ["SERVICE", "GROUP", "CHANGELOG_TOPIC", "CLAIMS_TOPIC", "CLAIMED_TOPIC", "policy_from_settings", "now_ms",
           "input_topics", "internal_topics", "timer_interval", "serve"]

log = logging.getLogger(__name__)
SERVICE = "migration"
GROUP = "citybus-migration"
CHANGELOG_TOPIC = "citybus-migration-state-changelog"

# Every send is on a saga's critical path (request -> command -> reply -> ...): no linger
# (batches still grow with the load while a request is in flight). With 1 ms here and 2 ms in
# the simulated cities, p50 at 5/s was 34-44 ms against 27-30 (`citybus bench --quick --only
# migration`, 2 cores); at 200/s, CPU per migration is the same (orchestrator 3.3-3.5 ms, cities
# 1.9, broker 2.2-2.3 in six interleaved 30 s runs) and the latencies were within the noise.
# Fetches long-poll (they return as soon as a record is there; the worker fetches a partition
# again only once its records were taken): measured on 2
# cores, a fetch that waits a fixed 2 ms for 16 KiB cost a third of a core idle in the worker
# and as much in the broker (84 partitions per fetch), for no better latency at 200 migrations/s.
LINGER_MS = 0
FETCH_MIN_BYTES = 1
FETCH_MAX_WAIT_MS = 100
MAX_RECORDS = 2000


def policy_from_settings() -> SagaPolicy:
    """The saga policy of the settings; a bad CITYBUS_STEP_DAYS is an error naming the variable
    (the policy's own message named `step_days`, which no operator sets)."""
    conf = settings()
    day = None if conf.working_day is None else max(1, round(conf.working_day * 1000))
    try:
        step_days = {step_key(key): days for key, days in conf.step_days.items()}  # "SCOPE.STEP" keys
        return SagaPolicy(max_attempts=conf.max_attempts, working_day_ms=day, step_days=step_days,
                          known_cities=frozenset(default_catalog().city_codes))
    except ConfigurationError as exc:
        raise ConfigurationError(f"CITYBUS_STEP_DAYS: {str(exc).removeprefix('step_days: ')}") from None


def timer_interval(policy: SagaPolicy) -> float:
    """Seconds between deadline scans: a twentieth of a working day or less, at most 1 s."""
    if policy.working_day_ms is None:
        return 1.0
    return min(1.0, max(0.02, policy.working_day_ms / 4000))


def input_topics(catalog: Catalog) -> list[str]:
    return [REQUESTS_TOPIC, *(t.name for t in catalog.city_topics("replies")),
            *(t.name for t in catalog.city_topics("household.moves")), CLAIMS_TOPIC, CLAIMED_TOPIC]


def internal_topics(catalog: Catalog) -> list[TopicSpec]:
    """The service's own topics, shaped like the catalog's (partitions, replication)."""
    model = catalog.topic(DEADLETTER_TOPIC)
    # hops: kept until processed, however long the workers are down; purged behind the commits
    return [model.internal(CHANGELOG_TOPIC, SERVICE, "compact", -1),
            model.internal(CLAIMS_TOPIC, SERVICE, "delete", -1),
            model.internal(CLAIMED_TOPIC, SERVICE, "delete", -1)]


async def serve(web_port: int, data_dir: Path | None = None, policy: SagaPolicy | None = None) -> None:
    """One worker, until SIGTERM/SIGINT: then its last batch is committed and it leaves the group."""
    conf = settings()
    catalog = default_catalog()
    policy = policy or policy_from_settings()
    bootstrap = resolve_bootstrap()
    created = await ensure_topics_when_reachable(bootstrap, internal_topics(catalog))
    if created:
        log.info("created %s", ", ".join(created))
    partitions = catalog.topic(DEADLETTER_TOPIC).partitions
    orchestrator = Orchestrator(intake=default_intake(), policy=policy, service=SERVICE, partitions=partitions)
    config = WorkerConfig(
        group=GROUP, topics=input_topics(catalog), changelog=CHANGELOG_TOPIC,
        data_dir=(data_dir or conf.data_dir) / SERVICE, url=advertised_url(conf.web_host, web_port),
        partitions=partitions, purged=frozenset({CLAIMS_TOPIC, CLAIMED_TOPIC}),
        max_records=MAX_RECORDS, poll_ms=100, linger_ms=LINGER_MS, fetch_min_bytes=FETCH_MIN_BYTES,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS, tick_interval=timer_interval(policy),
        # a batch settles (changelog, stores, commit) while the next is decided: see the worker
        pipelined=True,
        # a SIGKILLed worker leaves the group only when its session times out: keep that short
        session_timeout_ms=6000, heartbeat_interval_ms=1000)
    worker = StateWorker(bootstrap, config, orchestrator)
    site = MigrationWeb(worker, orchestrator, policy)
    await run_worker(worker, site, conf.web_host, web_port, "migration", tune=tune_gc_for_latency)
