"""`bus.deadletter`: what a service could not take, kept whole with the reason, never dropped."""
from __future__ import annotations

import codecs
import datetime
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from citybus.codec import cloudevent_headers, encode
from citybus.errors import CitybusError

__all__ = ["DEADLETTER_TOPIC", "REJECTED_EVENT", "Rejection", "rejected_event", "DeadLetterSink", "Send"]

DEADLETTER_TOPIC = "bus.deadletter"
REJECTED_EVENT = "citybus.bus.RejectedEvent"

# (topic, key, value, headers) -> awaitable; aiokafka's send and Faust's both fit behind it
Send = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]]], Awaitable[object]]


@dataclass(frozen=True)
class Rejection:
    """Where an event came from, its untouched bytes, and why it was refused."""

    source_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    reason_code: str
    reason: str

    @classmethod
    def of(cls, error: CitybusError, *, topic: str, partition: int, offset: int, key: bytes | None,
           value: bytes | None, headers: Iterable[tuple[str, bytes | None]] = ()) -> Rejection:
        return cls(topic, partition, offset, key, value, tuple(headers), error.reason_code, str(error))

    @classmethod
    def of_record(cls, record: Any, reason_code: str, reason: str) -> Rejection:
        """A consumed record (anything with topic, partition, offset, key, value, headers) refused."""
        return cls(record.topic, record.partition, record.offset, record.key, record.value,
                   tuple(record.headers or ()), reason_code, reason)


def rejected_event(rejection: Rejection, service: str, now: datetime.datetime | None = None) -> dict:
    """The `citybus.bus.RejectedEvent` record of a rejection."""
    return {
        "source_topic": rejection.source_topic,
        "partition": rejection.partition,
        "offset": rejection.offset,
        "key": rejection.key,
        "value": rejection.value,
        "headers": {name: _header_text(raw) for name, raw in rejection.headers},
        "reason_code": rejection.reason_code,
        "reason": rejection.reason,
        "service": service,
        "rejected_at": now or datetime.datetime.now(datetime.timezone.utc),
    }


def _header_text(raw: bytes | None) -> str:
    """A header value as text no longer than its bytes: each invalid UTF-8 sequence becomes "?".
    (U+FFFD takes 3 bytes: a city's 500 KB of non-UTF-8 header made a 1.5 MB dead letter, beyond
    the broker's limit, and the worker that could not send it stopped, on every restart.)"""
    return (raw or b"").decode("utf-8", _QUESTION_MARK)


def _question_mark(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)  # registered for decoding only
    return "?", error.end


_QUESTION_MARK = "citybus-question-mark"
codecs.register_error(_QUESTION_MARK, _question_mark)


class DeadLetterSink:
    """Publishes rejections of one service to `bus.deadletter`, keyed by the original key."""

    def __init__(self, send: Send, service: str) -> None:
        self._send = send
        self.service = service
        self.count = 0

    async def reject(self, rejection: Rejection) -> None:
        value = encode(REJECTED_EVENT, rejected_event(rejection, self.service))
        headers = cloudevent_headers(REJECTED_EVENT, f"/bus/{self.service}")
        await self._send(DEADLETTER_TOPIC, rejection.key, value, headers)
        self.count += 1
