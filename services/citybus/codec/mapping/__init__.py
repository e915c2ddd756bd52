"""Wire mapping in one place: decoded Avro dicts <-> domain objects, one module per namespace.

Decoded dicts carry fastavro's types (Decimal, aware datetimes, dates); domain objects carry
epoch milliseconds. Upcasters between schema versions belong here too, when a v2 appears.
"""
from citybus.codec.mapping.household import household_moved_from_avro
from citybus.codec.mapping.insurance import (
    CONTRIBUTION_FIELDS, build_contribution, contribution_from_avro, retirement_from_avro,
)
from citybus.codec.mapping.migration import reply_from_avro, request_from_avro
from citybus.codec.mapping.time import millis, utc

__all__ = [
    "CONTRIBUTION_FIELDS",
    "build_contribution",
    "contribution_from_avro",
    "retirement_from_avro",
    "household_moved_from_avro",
    "request_from_avro",
    "reply_from_avro",
    "millis",
    "utc",
]
