"""Parsing Canonical Form and CRC-64-AVRO fingerprints, as the Avro specification defines them.

fastavro's canonical form matches Java's `SchemaNormalization` (checked by a test that runs
Java): logical types reduce to their base type (`"bytes"`). The Python `avro` package's
`canonical_form` keeps `{"type": "bytes"}` there and so yields different fingerprints; it
must not be used for the wire. The form is only meaningful on a self-contained schema.
"""
from __future__ import annotations

from typing import Any

from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

__all__ = ["FINGERPRINT_SIZE", "fingerprint64", "parsing_canonical_form"]

FINGERPRINT_SIZE = 8


def parsing_canonical_form(schema: dict[str, Any]) -> str:
    return to_parsing_canonical_form(schema)


def fingerprint64(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the schema's Parsing Canonical Form: the 8 bytes as written on the wire
    (little-endian), the same value Java's `SchemaNormalization.parsingFingerprint64` returns."""
    return bytes.fromhex(_fastavro_fingerprint(parsing_canonical_form(schema), "CRC-64-AVRO"))
