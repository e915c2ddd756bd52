"""Co-partitioned assignment that also tells every worker where the others answer HTTP.

Kafka's range assignment gives each member the same partition numbers of every topic when the
topics have equal partition counts (the catalog's do), so the worker owning partition p of the
city topics also owns p of the changelog and the statement index: state is local to its input.
Each member puts its HTTP address in its subscription's user data; the group leader hands the
map partition -> address to every member in its assignment (what Kafka Streams does with its
`application.server`), so any worker can forward a query to the owner of a key.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata

__all__ = ["Owners", "routing_assignor"]


class Owners:
    """partition number -> HTTP base URL of the worker that owns it, as of the last assignment."""

    def __init__(self) -> None:
        self.by_partition: dict[int, str] = {}
        self.generation = 0

    def update(self, mapping: Mapping[int, str]) -> None:
        self.by_partition = dict(mapping)
        self.generation += 1

    def url(self, partition: int) -> str | None:
        return self.by_partition.get(partition)


def routing_assignor(url: str, owners: Owners) -> type[RangePartitionAssignor]:
    """A range assignor class (aiokafka wants classes) bound to this worker's `url` and `owners`."""

    class RoutingRangeAssignor(RangePartitionAssignor):
        name = "citybus-range"
        version = 0

        @classmethod
        def metadata(cls, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
            return ConsumerProtocolMemberMetadata(cls.version, list(topics), url.encode())

        @classmethod
        def assign(cls, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata]
                   ) -> dict[str, ConsumerProtocolMemberAssignment]:
            plain = RangePartitionAssignor.assign(cluster, members)
            table: dict[int, str] = {}
            for member_id, assignment in plain.items():
                address = members[member_id].user_data.decode() if members[member_id].user_data else ""
                for _topic, partitions in assignment.assignment:
                    for partition in partitions:
                        table[partition] = address
            user_data = json.dumps({str(p): a for p, a in sorted(table.items())}).encode()
            return {member_id: ConsumerProtocolMemberAssignment(cls.version, a.assignment, user_data)
                    for member_id, a in plain.items()}

        @classmethod
        def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
            mapping = json.loads(assignment.user_data or b"{}")
            owners.update({int(p): a for p, a in mapping.items() if a})

    return RoutingRangeAssignor
