"""How every service (`citybus serve ...`) logs: one format, the Kafka client at WARNING or
above, and its repeated errors summarised instead of repeated."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["configure_service_logging", "RepeatedErrors"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_service_logging(level: str) -> None:
    """The root logger at `level`, aiokafka at `level` but never below WARNING (its INFO is one
    line per rebalance step and connection), and `RepeatedErrors` on every root handler."""
    level = level.upper()
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger("aiokafka").setLevel(max(logging.getLevelName(level), logging.WARNING))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatedErrors) for f in handler.filters):
            handler.addFilter(RepeatedErrors())


class RepeatedErrors(logging.Filter):
    """With the broker down aiokafka logs every failed attempt, about 30 ERROR lines a second
    per service, and the line that says what else went wrong scrolls away. Of the warnings and
    errors of `prefix`'s loggers, the first of a kind (logger, level, message template) passes;
    the same kind again within `interval_s` is counted, not shown; the first one after that
    passes with the count ("(N more like this in the last 30 s)") and opens the next interval.
    On a handler, not a logger: a logger's filters do not see its children's records."""

    def __init__(self, prefix: str = "aiokafka", interval_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._prefix = prefix
        self._interval_s = interval_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}  # kind -> (interval start, held back)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not self._watched(record.name):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        started, held = self._seen.get(kind, (now, 0))
        if kind in self._seen and now - started < self._interval_s:
            self._seen[kind] = (started, held + 1)
            return False
        self._forget_quiet(now)
        self._seen[kind] = (now, 0)
        if held:  # mutated in place: Python 3.11's filters cannot hand back another record
            record.msg = f"{record.msg} ({held} more like this in the last {now - started:.0f} s)"
        return True

    def _watched(self, name: str) -> bool:
        return name == self._prefix or name.startswith(self._prefix + ".")

    def _forget_quiet(self, now: float) -> None:
        """Kinds whose interval is over with nothing held back: the next one passes anyway."""
        for kind, (started, held) in list(self._seen.items()):
            if not held and now - started >= self._interval_s:
                del self._seen[kind]
