"""Parsed schemas are cached: once a store is loaded, encoding and decoding parse no schema."""
from __future__ import annotations

import fastavro
import pytest

from citybus.codec import SingleObjectCodec

from codec_samples import SAMPLES

NAME = "citybus.insurance.ContributionRecorded"


def test_encode_and_decode_parse_no_schema(codec: SingleObjectCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    record = SAMPLES[NAME]
    codec.decode(codec.encode(NAME, record), NAME)  # whatever is built lazily, built now

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema was parsed while encoding or decoding")

    monkeypatch.setattr(fastavro, "parse_schema", refuse)
    for _ in range(3):
        data = codec.encode(NAME, record)
        assert codec.decode(data, NAME)[1] == record
        assert codec.encoder(NAME)(record) == data
