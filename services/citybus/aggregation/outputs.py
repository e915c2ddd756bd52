"""What the aggregation sends: summaries, statements (both records of the contract) and the
statement index message (internal, keyed by request_id)."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from citybus.codec import CloudEventHeaders, default_codec
from citybus.codec.mapping.insurance import cleared_summary_to_avro, statement_to_avro, summary_to_avro
from citybus.domain.contributions import ContributionSummary, RetirementStatement

__all__ = ["SUMMARIES_TOPIC", "STATEMENTS_TOPIC", "SOURCE", "Message", "summary_message", "statement_message",
           "index_message"]

SUMMARIES_TOPIC = "bus.insurance.summaries"
STATEMENTS_TOPIC = "bus.insurance.retirement-statements"
SUMMARY = "citybus.insurance.ContributionSummary"
STATEMENT = "citybus.insurance.RetirementStatement"
SOURCE = "/bus/aggregation"

Message = tuple[str, bytes, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers
# ce_id: this process's random prefix and a counter (unique per source without a uuid4 per message)
_SUMMARY_HEADERS = CloudEventHeaders(SUMMARY, SOURCE)
_STATEMENT_HEADERS = CloudEventHeaders(STATEMENT, SOURCE)


def summary_message(resident_id: str, scheme: str, summary: ContributionSummary | None, now_ms: int) -> Message:
    record = (summary_to_avro(summary, now_ms) if summary is not None
              else cleared_summary_to_avro(resident_id, scheme, now_ms))
    return SUMMARIES_TOPIC, resident_id.encode(), _encoder(SUMMARY)(record), _SUMMARY_HEADERS()


def statement_message(statement: RetirementStatement, now_ms: int) -> Message:
    value = _encoder(STATEMENT)(statement_to_avro(statement, now_ms))
    return STATEMENTS_TOPIC, statement.resident_id.encode(), value, _STATEMENT_HEADERS()


def index_message(topic: str, view: dict[str, Any]) -> Message:
    """The statement's JSON view, keyed by request_id, for the table that answers /retirements."""
    return topic, view["request_id"].encode(), json.dumps(view, separators=(",", ":")).encode(), []


@functools.cache
def _encoder(full_name: str) -> Callable[[dict[str, Any]], bytes]:
    """The codec's encoder of a record type (fastavro's bytes; straight-line code where it can)."""
    return default_codec().encoder(full_name)
