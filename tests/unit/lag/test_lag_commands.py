"""The lag commands' broker-free parts: service levels from the catalog, group filter, what two
samples cannot tell, and the one-line error when there is no broker."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citybus.catalog import Catalog, ConsumerGroupLevel, default_catalog
from citybus.domain.lag import LagBook, PartitionSample
from citybus.kafka.local import free_port
from citybus.errors import CitybusError
from citybus.lag.commands import check_groups_exist, group_filter, service_levels, without_lower_bounds


def test_service_levels_come_from_the_catalog_groups_that_have_one():
    catalog = Catalog(cities={}, topics=(), policy_defaults={}, groups={
        "fast": ConsumerGroupLevel("fast", "aggregation", 10),
        "any": ConsumerGroupLevel("any", "reports", None),
    })
    assert service_levels(catalog) == {"fast": 10}
    assert service_levels(default_catalog())["citybus-migration"] == 10


@pytest.mark.parametrize(
    ("patterns", "group", "kept"),
    [
        ([], "anything", True),
        (["citybus-migration"], "citybus-migration", True),
        (["citybus-migration"], "citybus-migration-2", False),
        (["citybus-*"], "citybus-aggregation", True),
        (["citybus-*", "city.*"], "city.ks.intake", True),
        (["citybus-*"], "other", False),
    ],
)
def test_group_filter_takes_names_and_globs(patterns, group, kept):
    assert group_filter(patterns)(group) is kept


def test_a_group_pattern_matching_no_group_on_the_cluster_is_an_error_naming_it():
    listed = ["citybus-aggregation", "citybus-migration"]
    check_groups_exist([], listed, "k:9092")
    check_groups_exist(["citybus-migration", "citybus-*"], listed, "k:9092")
    with pytest.raises(CitybusError) as failed:
        check_groups_exist(["citybus-aggregation", "typo", "x-*"], listed, "k:9092")
    assert str(failed.value) == ("no consumer group 'typo' or 'x-*' on k:9092 "
                                 "(groups there: citybus-aggregation, citybus-migration)")
    with pytest.raises(CitybusError, match=r"^no consumer group 'typo' on k:9092 \(no consumer group there\)$"):
        check_groups_exist(["typo"], [], "k:9092")
    many = [f"g{i:02d}" for i in range(12)]
    with pytest.raises(CitybusError, match=r"groups there: g00, .*, g09 and 2 more\)$"):
        check_groups_exist(["typo"], many, "k:9092")


def test_one_shot_report_does_not_pass_a_lower_bound_off_as_lag_in_time():
    book = LagBook(window=5)
    first = [
        PartitionSample("quiet", "t", 0, 10, 0, 50, 1_000, False),  # stuck, log did not move
        PartitionSample("busy", "u", 0, 10, 0, 50, 1_000, True),  # behind, log grows
        PartitionSample("busy", "u", 1, 50, 0, 50, 1_000, True),  # caught up
    ]
    second = [
        PartitionSample("quiet", "t", 0, 10, 0, 50, 2_000, False),
        PartitionSample("busy", "u", 0, 20, 0, 70, 2_000, True),
        PartitionSample("busy", "u", 1, 70, 0, 70, 2_000, True),
    ]
    book.record(first)
    book.record(second)
    assert book.report().group("quiet").lag_seconds == 1.0  # only the gap between the samples

    report, unknown = without_lower_bounds(book.report(), first, second)
    assert unknown == 1
    quiet, busy = report.group("quiet"), report.group("busy")
    assert quiet.lag_seconds is None and quiet.partitions[0].lag_seconds is None
    assert quiet.lag_messages == 40  # the rest untouched
    assert busy.lag_seconds == book.report().group("busy").lag_seconds > 0
    assert [p.lag_seconds for p in busy.partitions][1] == 0.0


@pytest.mark.parametrize("command", [["lag"], ["serve", "lag", "--web-port", "0"]])
def test_no_broker_is_one_line_error(command):
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    done = subprocess.run([str(Path(sys.executable).with_name("citybus")), *command], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert "error: lag collector cannot connect to 127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
