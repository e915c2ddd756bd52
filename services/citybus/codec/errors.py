"""The codec's own error: a schema file that breaks the contract's rules."""
from __future__ import annotations

from citybus.errors import CitybusError

__all__ = ["SchemaError"]


class SchemaError(CitybusError):
    """A schema file cannot be read, parsed or resolved; carries the file and the rule broken."""

    reason_code = "SCHEMA"
