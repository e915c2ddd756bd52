"""Parsed schemas are cached: once a store is loaded, encoding and decoding parse no schema.

fastavro's compiled reader and writer parse an unparsed schema through their own internal
reference, so patching `fastavro.parse_schema` would not see it. Instead every schema handed to
fastavro by the codec must be the parsed form (fastavro marks it with `__fastavro_parsed`): given
one, fastavro parses nothing."""
from __future__ import annotations

from collections import Counter
from typing import Any

import fastavro
import pytest

import citybus.codec.single_object as single_object
from citybus.codec import SingleObjectCodec

from codec_samples import SAMPLES

PARSED = "__fastavro_parsed"


def _checked(name: str, schema_args: tuple[str, ...], original: Any, calls: Counter[str]) -> Any:
    """`original` that refuses any schema argument fastavro would have to parse."""

    def call(fo: Any, *args: Any, **kwargs: Any) -> Any:
        given = dict(zip(schema_args, args, strict=False)) | {k: v for k, v in kwargs.items() if k in schema_args}
        for arg, schema in given.items():
            if schema is not None and not (isinstance(schema, dict) and schema.get(PARSED)):
                raise AssertionError(f"{name}({arg}=...) was given an unparsed schema: fastavro parses it on every call")
        calls[name] += 1
        return original(fo, *args, **kwargs)

    return call


def test_encode_and_decode_parse_no_schema(codec: SingleObjectCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, record in SAMPLES.items():  # whatever is built lazily, built now
        codec.decode(codec.encode(name, record), name)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema was parsed while encoding or decoding")

    calls: Counter[str] = Counter()
    monkeypatch.setattr(fastavro, "parse_schema", refuse)
    for called, schema_args in (("schemaless_writer", ("schema",)),
                                ("schemaless_reader", ("writer_schema", "reader_schema"))):
        original = getattr(single_object, called)
        monkeypatch.setattr(single_object, called, _checked(called, schema_args, original, calls))
    for name, record in SAMPLES.items():
        for _ in range(3):
            data = codec.encode(name, record)
            assert codec.decode(data, name)[1] == record
            assert codec.encoder(name)(record) == data
    # both fastavro paths were taken (not every type is read by fast_reader), so both were checked
    assert calls["schemaless_writer"] > 0 and calls["schemaless_reader"] > 0
