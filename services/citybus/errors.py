"""One root exception for everything citybus raises; each carries what an operator needs."""
from __future__ import annotations

__all__ = [
    "CitybusError",
    "ValidationError",
    "CodecError",
    "UndecodableError",
    "UnknownSchemaError",
    "WrongTypeError",
    "ConfigurationError",
    "BrokerError",
]


class CitybusError(Exception):
    """Root of every citybus error."""

    reason_code = "ERROR"


class ValidationError(CitybusError):
    """A field breaks a rule of the contract. `reason_code` is one of bus.md's codes."""

    def __init__(self, field: str, rule: str, value: object = None, reason_code: str = "INVALID_FIELD") -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.reason_code = reason_code
        self.detail = rule if value is None else f"{rule} (got {_shown(value)})"  # the message without the field
        super().__init__(f"{field}: {self.detail}")


_SHOWN = 200


def _shown(value: object) -> str:
    """The value's repr, cut: a sender's megabyte field would otherwise come back in the message
    (a dead letter then carries it twice, beyond what the broker takes; a 400 echoes it)."""
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}... ({len(text)} characters)"


class CodecError(CitybusError):
    """Bytes on the wire could not be turned into a record."""

    reason_code = "UNDECODABLE"


class UndecodableError(CodecError):
    reason_code = "UNDECODABLE"


class UnknownSchemaError(CodecError):
    reason_code = "UNKNOWN_SCHEMA"


class WrongTypeError(CodecError):
    reason_code = "WRONG_TYPE"


class ConfigurationError(CitybusError):
    reason_code = "CONFIGURATION"


class BrokerError(CitybusError):
    reason_code = "BROKER"
