"""What every bus service and city system shares: the intake gate, dead letters, publishing."""
from citybus.bus.deadletter import DEADLETTER_TOPIC, REJECTED_EVENT, DeadLetterSink, Rejection, rejected_event
from citybus.bus.intake import CITY_FIELD, Accepted, Intake
from citybus.bus.validators import DIRECT, VALIDATORS

__all__ = [
    "Accepted", "CITY_FIELD", "DEADLETTER_TOPIC", "DeadLetterSink", "Intake", "REJECTED_EVENT", "Rejection",
    "VALIDATORS", "rejected_event", "default_intake",
]


def default_intake(direct: bool = False) -> Intake:
    """The bus's intake; `direct`: the record types of DIRECT are read straight into their domain
    records (`Accepted.record` is None for them), for a service that uses the domain value only."""
    from citybus.catalog import default_catalog
    from citybus.codec import default_codec

    # the codec resolved once: a service decodes with the schemas it started with
    return Intake(default_catalog(), VALIDATORS, default_codec(), DIRECT if direct else None)
