"""Where is Kafka? `KAFKA_BOOTSTRAP_SERVERS`, else the local jar cluster under the data dir."""
from __future__ import annotations

from citybus.errors import BrokerError
from citybus.kafka.local import LocalKafka
from citybus.settings import settings

__all__ = ["local_cluster", "resolve_bootstrap"]


def local_cluster(nodes: int = 1) -> LocalKafka:
    conf = settings()
    name = "kafka" if nodes == 1 else f"kafka{nodes}"
    return LocalKafka(conf.data_dir / name, conf.kafka_lib_dir, nodes=nodes, heap=conf.kafka_heap)


def resolve_bootstrap() -> str:
    conf = settings()
    if conf.kafka_bootstrap_servers:
        return conf.kafka_bootstrap_servers
    for nodes in (1, 3):
        info = local_cluster(nodes).running()
        if info is not None:
            return info.bootstrap
    raise BrokerError("no Kafka: set KAFKA_BOOTSTRAP_SERVERS or start the local broker with `citybus kafka up`")
