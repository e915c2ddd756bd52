"""The consumer-side gate every bus service uses: bytes in, a checked record or a Rejection out.

Decode (single-object encoding, writer-to-reader resolution), check the record type against
the topic's catalog entry, check the `city` against the topic's `<code>`, then the field
rules of the record type. Nothing is half-applied: a record either passes all or is refused.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from citybus.bus.deadletter import Rejection
from citybus.catalog import Catalog
from citybus.codec import SingleObjectCodec, default_codec
from citybus.codec import decode as default_decode
from citybus.codec.mapping.builder import positional_builder
from citybus.errors import CitybusError, ValidationError

__all__ = ["Intake", "Accepted", "CITY_FIELD", "Direct"]

# which field of a city-written record names the writing city (bus.md: WRONG_CITY)
CITY_FIELD = {
    "citybus.insurance.ContributionRecorded": "city",
    "citybus.insurance.RetirementRequested": "city",
    "citybus.household.HouseholdMoved": "to_city",
    "citybus.migration.MigrationReply": "city",
}

_UNKNOWN = object()
Validator = Callable[[dict[str, Any], Catalog], Any]


class Direct(NamedTuple):
    """A record type read straight into its domain record (`build(*field values)`, no dict) and
    then checked by `validate`, for the plain cases (SingleObjectCodec.decoder_into); the rest
    goes the usual way (decode, then the type's validator), with the same outcome."""

    build: Callable[..., Any]
    fields: tuple[str, ...]
    validate: Callable[[Any, Catalog], Any]
    millis: bool = True


@dataclass(frozen=True, slots=True)
class Accepted:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    record: dict[str, Any] | None  # the decoded dict; None when the record was read straight into `value`
    value: Any  # what the record type's validator made of it (a domain object), else the dict


_accepted = positional_builder(Accepted)  # once per event: half the cost of the frozen __init__


class Intake:
    """Checks events of the topics it is given; `validators` maps record full names to field rules."""

    def __init__(self, catalog: Catalog, validators: Mapping[str, Validator] | None = None,
                 codec: SingleObjectCodec | None = None, direct: Mapping[str, Direct] | None = None) -> None:
        self.catalog = catalog
        self.validators = validators or {}
        self._decode = codec.decode if codec else default_decode
        self._expected = {t.name: t.record for t in catalog.topics}
        self._topic_cities: dict[str, str | None] = {}
        # topic -> (its city field or None, its reader into the domain record, its field rules) for `direct` types
        self._direct: dict[str, tuple[str | None, Callable[[bytes], Any], Callable[[Any, Catalog], Any]]] = {}
        if direct:
            codec = codec or default_codec()
            readers = {name: codec.decoder_into(name, rule.build, rule.fields, rule.millis)
                       for name, rule in direct.items()}
            self._direct = {t.name: (CITY_FIELD.get(t.record), readers[t.record], direct[t.record].validate)
                            for t in catalog.topics if t.record in direct}

    def check(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
              headers: Iterable[tuple[str, bytes | None]] = ()) -> Accepted | Rejection:
        direct = self._direct.get(topic)
        if direct is not None and value is not None:
            built = direct[1](value)
            if built is not None:  # else `decode` reads it, or says why not
                try:
                    if direct[0] is not None:
                        self._city_is(topic, direct[0], getattr(built, direct[0]))
                    checked = direct[2](built, self.catalog)
                except CitybusError as error:
                    return Rejection.of(error, topic=topic, partition=partition, offset=offset, key=key, value=value,
                                        headers=headers)
                return _accepted(topic, partition, offset, key, None, checked)
        try:
            if value is None:
                raise ValidationError("value", "an event must have a value (tombstones are not events here)",
                                      reason_code="UNDECODABLE")
            full_name, record = self._decode(value, self._expected.get(topic))
            self._check_city(topic, full_name, record)
            validator = self.validators.get(full_name)
            checked = validator(record, self.catalog) if validator else record
        except CitybusError as error:
            return Rejection.of(error, topic=topic, partition=partition, offset=offset, key=key, value=value,
                                headers=headers)
        return _accepted(topic, partition, offset, key, record, checked)

    def check_record(self, record: Any) -> Accepted | Rejection:
        """`check` of a consumed record (anything with topic, partition, offset, key, value and
        headers), whose headers are read only when it is refused: only a dead letter needs them,
        and reading them is most of a fetched record's cost (citybus.kafka.fetching)."""
        outcome = self.check(record.topic, record.partition, record.offset, record.key, record.value)
        if isinstance(outcome, Rejection):
            return replace(outcome, headers=tuple(record.headers or ()))
        return outcome

    def _check_city(self, topic: str, full_name: str, record: dict[str, Any]) -> None:
        field = CITY_FIELD.get(full_name)
        if field is not None:
            self._city_is(topic, field, record.get(field))

    def _city_is(self, topic: str, field: str, city: Any) -> None:
        topic_city = self._topic_cities.get(topic, _UNKNOWN)
        if topic_city is _UNKNOWN:
            topic_city = self._topic_cities[topic] = self.catalog.city_of_topic(topic)
        if topic_city is not None and city != topic_city:
            raise ValidationError(field, f"must equal the topic's city {topic_city}", city, reason_code="WRONG_CITY")
