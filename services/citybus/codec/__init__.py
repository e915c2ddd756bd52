"""Avro single-object encoding, the schema store, CloudEvents headers and the schema check.

    from citybus.codec import encode, decode, cloudevent_headers
    value = encode("citybus.insurance.ContributionRecorded", record)
    headers = cloudevent_headers("citybus.insurance.ContributionRecorded", "/cities/440300/hrss")
    full_name, record = decode(value, expected_full_name="citybus.insurance.ContributionRecorded")
"""
from citybus.codec.compatibility import CheckedSchema, SchemaCheckReport, check_schemas
from citybus.codec.errors import SchemaError
from citybus.codec.fingerprint import fingerprint64, parsing_canonical_form
from citybus.codec.headers import (
    AVRO_CONTENT_TYPE,
    REQUIRED_HEADERS,
    CloudEventHeaders,
    cloudevent_headers,
    parse_cloudevent_headers,
    rfc3339,
)
from citybus.codec.json_form import from_json, to_json
from citybus.codec.loader import StoredSchema
from citybus.codec.single_object import MAGIC, SingleObjectCodec, decode, default_codec, encode
from citybus.codec.store import SCHEMAS_DIR_VARIABLE, SchemaStore, default_schemas_dir, default_store

__all__ = [
    "from_json",
    "to_json",
    "AVRO_CONTENT_TYPE",
    "MAGIC",
    "REQUIRED_HEADERS",
    "SCHEMAS_DIR_VARIABLE",
    "CheckedSchema",
    "CloudEventHeaders",
    "SchemaCheckReport",
    "SchemaError",
    "SchemaStore",
    "SingleObjectCodec",
    "StoredSchema",
    "check_schemas",
    "cloudevent_headers",
    "decode",
    "default_codec",
    "default_schemas_dir",
    "default_store",
    "encode",
    "fingerprint64",
    "parse_cloudevent_headers",
    "parsing_canonical_form",
    "rfc3339",
]
