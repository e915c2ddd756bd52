"""pytest plugin `citybus_kafka`: one real Kafka broker for a whole test session.

Installed with citybus (entry point `pytest11`), so a city team's own integration tests get
the same fixtures by installing the package:

- `kafka_bootstrap` (session): a bootstrap address. `KAFKA_BOOTSTRAP_SERVERS` when set;
  else a testcontainers Kafka when a Docker daemon answers; else a single-node KRaft broker
  started from the Apache Kafka jars (`make kafka-jars`), stopped when the session ends.
- `kafka_cluster3` (session): a three-node local cluster (replication factor 3,
  `min.insync.replicas=2`) for fault tests, as a `LocalKafka` whose `running()` gives the
  bootstrap address and whose `kill_node(i)` kills one broker.

No mock or fake broker is offered, on purpose.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from citybus.kafka.local import LocalKafka
from citybus.settings import settings

__all__ = ["kafka_bootstrap", "kafka_cluster3", "docker_daemon_answers"]


def docker_daemon_answers() -> bool:
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=5,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka broker's bootstrap address, for the whole session."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing
        return
    if docker_daemon_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    cluster = LocalKafka(tmp_path_factory.mktemp("kafka"), settings().kafka_lib_dir, nodes=1, heap="1g")
    info = cluster.up()
    try:
        yield info.bootstrap
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def kafka_cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """Three local KRaft nodes, for tests of broker faults."""
    cluster = LocalKafka(tmp_path_factory.mktemp("kafka3"), settings().kafka_lib_dir, nodes=3, heap="512m")
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()
