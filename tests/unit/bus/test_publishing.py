"""A city's events, checked before they leave the city; JSON Lines with bad lines reported."""
import io
import json

import pytest

from citybus.bus.jsonl import BadLine, read_events
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import decode, parse_cloudevent_headers
from citybus.errors import ValidationError

from .events import RESIDENT, contribution, contribution_json


def publisher(city="440300"):
    return CityPublisher(default_catalog(), city, producer=None, system="hr")


def test_prepare_routes_keys_and_heads_an_event_per_bus_md():
    topic, key, value, headers = publisher().prepare("ContributionRecorded", contribution())
    assert topic == "city.440300.insurance.contributions" and key == RESIDENT.encode()
    assert decode(value)[1]["record_id"] == "SZ-1"
    meta = parse_cloudevent_headers(headers)
    assert meta["type"] == "citybus.insurance.ContributionRecorded"
    assert meta["source"] == "/cities/440300/hr" and meta["specversion"] == "1.0"
    assert dict(headers)["content-type"] == b"application/avro"


def test_a_city_cannot_publish_for_another_city_or_write_commands():
    with pytest.raises(ValidationError) as err:
        publisher().prepare("ContributionRecorded", contribution(city="442000"))
    assert err.value.reason_code == "WRONG_CITY"
    with pytest.raises(ValidationError, match="does not write"):
        publisher().topic_for("citybus.migration.MigrationCommand")


def test_jsonl_reports_every_bad_line_and_keeps_the_good():
    lines = [
        contribution_json(),
        {"record_id": "no type"},
        contribution_json(record_id="SZ-2", resident_id="440301199001011235"),
        "not json at all",
        contribution_json(record_id="SZ-3", contribution_base=12.5),
        contribution_json(record_id="SZ-4", month="2030-01"),
        contribution_json(record_id="SZ-5", colour="red"),
        contribution_json(record_id="SZ-6"),
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    out = list(read_events(io.StringIO(text), publisher()))
    bad = {b.line: b for b in out if isinstance(b, BadLine)}
    assert sorted(bad) == [2, 3, 4, 5, 6, 7]
    assert bad[2].field == "type"
    assert bad[3].field == "resident_id" and "check character" in bad[3].rule
    assert "not JSON" in bad[4].rule
    assert bad[5].field == "contribution_base"
    assert bad[6].field == "month"
    assert bad[7].field == "colour"
    good = [decode(e[2])[1]["record_id"] for e in out if not isinstance(e, BadLine)]
    assert good == ["SZ-1", "SZ-6"]
