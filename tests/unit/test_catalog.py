"""The participant registry and topic catalog, read from topics/."""
import shutil

import pytest

from citybus.catalog import default_catalog, load_catalog
from citybus.errors import ConfigurationError

SPEC_CITIES = {"440300", "442000", "441900", "310000", "320500", "330400"}
CITY_KINDS = {"insurance.contributions", "insurance.retirements", "household.moves", "commands", "replies"}
BUS_TOPICS = {"bus.migration.requests", "bus.migration.status", "bus.insurance.summaries",
              "bus.insurance.retirement-statements", "bus.deadletter"}


def test_every_spec_topic_exists_for_every_city():
    catalog = default_catalog()
    assert set(catalog.cities) == SPEC_CITIES
    names = {t.name for t in catalog.topics}
    assert names == {f"city.{c}.{k}" for c in SPEC_CITIES for k in CITY_KINDS} | BUS_TOPICS


def test_records_and_keys_follow_bus_md():
    catalog = default_catalog()
    assert catalog.topic("city.440300.insurance.contributions").record == "citybus.insurance.ContributionRecorded"
    assert catalog.topic("city.440300.commands").key == "subject_id"
    assert catalog.topic("bus.migration.status").key == "migration_id"
    assert catalog.topic("bus.migration.status").cleanup_policy == "compact"
    assert len({t.partitions for t in catalog.topics if t.key in ("resident_id", "subject_id")}) == 1


@pytest.mark.parametrize("city, name, expected", [
    ("310000", "medical_required_local_months", 180),   # the city's own value
    ("440300", "medical_required_local_months", 120),   # no value: the default
    ("440300", "medical_required_total_months", 300),
    ("330400", "medical_required_total_months", 240),
])
def test_policy_values_fall_back_to_defaults(city, name, expected):
    assert default_catalog().policy(city, name) == expected


def test_adding_a_city_is_one_registry_entry(tmp_path):
    shutil.copytree("topics", tmp_path, dirs_exist_ok=True)
    registry = tmp_path / "participants.yaml"
    registry.write_text(registry.read_text(encoding="utf-8") + '  - code: "330100"\n    name: 杭州 Hangzhou\n',
                        encoding="utf-8")
    catalog = load_catalog(tmp_path)
    assert "city.330100.insurance.contributions" in {t.name for t in catalog.topics}
    assert [t.city for t in catalog.city_topics("replies")][-1] == "442000"
    assert "330100" in catalog.city_codes


def test_a_bad_city_code_is_a_clear_configuration_error(tmp_path):
    shutil.copytree("topics", tmp_path, dirs_exist_ok=True)
    (tmp_path / "participants.yaml").write_text('cities:\n  - code: "4403"\n    name: bad\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="6-digit"):
        load_catalog(tmp_path)


def test_the_dead_letter_topic_and_the_services_own_topics_take_a_record_beyond_the_brokers_default():
    """A dead letter holds a city's whole record plus the reason: it must fit where the record did."""
    deadletter = default_catalog().topic("bus.deadletter")
    assert deadletter.configs(1)["max.message.bytes"] == "4194304"
    hop = deadletter.internal("citybus-aggregation-by-person", "aggregation", "delete", -1)
    assert hop.configs(1)["max.message.bytes"] == "4194304"
    city = default_catalog().topic("city.440300.insurance.contributions")
    assert "max.message.bytes" not in city.configs(1)  # the broker's default limit for what cities write
