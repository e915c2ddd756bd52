"""A loose guard: parsed schemas are cached, so a record costs microseconds, not a schema parse."""
from __future__ import annotations

import time

from citybus.codec import SingleObjectCodec

from codec_samples import SAMPLES

NAME = "citybus.insurance.ContributionRecorded"


def test_encode_and_decode_cost_microseconds(codec: SingleObjectCodec) -> None:
    record, rounds = SAMPLES[NAME], 2000
    data = codec.encode(NAME, record)
    started = time.perf_counter()
    for _ in range(rounds):
        codec.decode(codec.encode(NAME, record), NAME)
    per_pair = (time.perf_counter() - started) / rounds
    assert per_pair < 300e-6, f"encode + decode took {per_pair * 1e6:.0f} µs"  # ~15 µs measured
    assert codec.decode(data, NAME)[1] == record
