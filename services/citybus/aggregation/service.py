"""The aggregation service: city contributions and retirement requests in, summaries and
statements out (contributions.md), on the stateful worker of citybus.streams.

Topics (6 partitions, co-partitioned, one consumer group `citybus-aggregation`):

- in: every city's contributions and retirements topics (from the catalog: a new city needs no
  code), keyed by resident_id; the repartition topic `citybus-aggregation-by-person`; the
  requests by request_id `citybus-aggregation-requests-by-id` (each id claimed once); the
  statement index `citybus-aggregation-statements-by-request` (compacted, keyed by request_id);
- out: `bus.insurance.summaries`, `bus.insurance.retirement-statements`, `bus.deadletter`;
- state: RocksDB per partition under <data dir>/aggregation, changelogged to the compacted
  `citybus-aggregation-state-changelog`.

The worker owning partition p of the inputs owns p of the state and of the index, so every
event of a person is applied where that person's ledger is, and HTTP asks the owner.
"""
from __future__ import annotations

import logging
from pathlib import Path

from citybus.aggregation.outputs import STATEMENTS_TOPIC
from citybus.aggregation.process import BY_PERSON_TOPIC, CLAIMS_TOPIC, INDEX_TOPIC, Aggregator
from citybus.aggregation.web import AggregationWeb
from citybus.bus import DEADLETTER_TOPIC, Intake, default_intake
from citybus.catalog import Catalog, TopicSpec, default_catalog
from citybus.domain.contributions import MedicalPolicy
from citybus.kafka.bootstrap import resolve_bootstrap
from citybus.kafka.topics import ensure_topics_when_reachable
from citybus.settings import settings
from citybus.streams.web import advertised_url, run_worker
from citybus.streams.worker import StateWorker, WorkerConfig

__all__ = ["SERVICE", "GROUP", "CHANGELOG_TOPIC", "INDEX_TOPIC", "BY_PERSON_TOPIC", "CLAIMS_TOPIC", "source_topics",
           "input_topics", "aggregation_intake", "medical_policies", "internal_topics", "worker_config", "serve"]

log = logging.getLogger(__name__)
SERVICE = "aggregation"
GROUP = "citybus-aggregation"
CHANGELOG_TOPIC = "citybus-aggregation-state-changelog"


def source_topics(catalog: Catalog) -> list[str]:
    """Every city's contributions and retirements topics: a new city needs no code."""
    kinds = ("insurance.contributions", "insurance.retirements")
    return [t.name for kind in kinds for t in catalog.city_topics(kind)]


def input_topics(catalog: Catalog) -> list[str]:
    """Everything the group reads: the cities' topics and the service's own three."""
    return [*source_topics(catalog), BY_PERSON_TOPIC, CLAIMS_TOPIC, INDEX_TOPIC]


def medical_policies(catalog: Catalog) -> dict[str, MedicalPolicy]:
    return {
        city: MedicalPolicy(catalog.policy(city, "medical_required_total_months"),
                            catalog.policy(city, "medical_required_local_months"))
        for city in catalog.city_codes
    }


def internal_topics(catalog: Catalog) -> list[TopicSpec]:
    """The service's own topics, shaped like the catalog's (partitions, replication)."""
    model = catalog.topic(DEADLETTER_TOPIC)
    return [model.internal(CHANGELOG_TOPIC, SERVICE, "compact", -1),
            model.internal(INDEX_TOPIC, SERVICE, "compact", -1),
            # hops: kept until processed, however long the workers are down; purged behind the commits
            model.internal(BY_PERSON_TOPIC, SERVICE, "delete", -1),
            model.internal(CLAIMS_TOPIC, SERVICE, "delete", -1)]


def aggregation_intake() -> Intake:
    """The bus's intake, contributions read straight into their domain records (the service has no
    use for the dict): `citybus.bus.validators.DIRECT`."""
    return default_intake(direct=True)


def worker_config(catalog: Catalog, data_dir: Path, url: str, max_records: int = 20000) -> WorkerConfig:
    """The aggregation's worker: its topics, changelog, own logs and hops."""
    return WorkerConfig(
        group=GROUP, topics=input_topics(catalog), changelog=CHANGELOG_TOPIC, data_dir=data_dir, url=url,
        partitions=catalog.topic(DEADLETTER_TOPIC).partitions, self_logged=frozenset({INDEX_TOPIC}),
        purged=frozenset({BY_PERSON_TOPIC, CLAIMS_TOPIC}), max_records=max_records,
        # a statement sent before a crash lost its book is taken back from there (Aggregator.recover)
        recovered=frozenset({STATEMENTS_TOPIC}))


async def serve(web_port: int, data_dir: Path | None = None, cache_persons: int = 20000,
                max_records: int = 20000) -> None:
    """One worker, until SIGTERM/SIGINT: then its last batch is committed and it leaves the group."""
    conf = settings()
    catalog = default_catalog()
    bootstrap = resolve_bootstrap()
    created = await ensure_topics_when_reachable(bootstrap, internal_topics(catalog))
    if created:
        log.info("created %s", ", ".join(created))
    partitions = catalog.topic(DEADLETTER_TOPIC).partitions
    aggregator = Aggregator(intake=aggregation_intake(), service=SERVICE, policies=medical_policies(catalog),
                            partitions=partitions, cache_persons=cache_persons)
    config = worker_config(catalog, (data_dir or conf.data_dir) / SERVICE, advertised_url(conf.web_host, web_port),
                           max_records)
    worker = StateWorker(bootstrap, config, aggregator)
    site = AggregationWeb(worker, aggregator)
    await run_worker(worker, site, conf.web_host, web_port, "aggregation")
