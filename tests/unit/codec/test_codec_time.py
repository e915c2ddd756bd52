"""Timestamps between Avro's aware datetimes and the domain's epoch milliseconds."""
import datetime as dt

from citybus.codec.mapping.time import millis, utc


def test_millis_is_exact_for_each_value_whatever_was_converted_before():
    first = dt.datetime(2024, 5, 1, 3, 4, 5, 123000, tzinfo=dt.timezone.utc)
    second = dt.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert millis(first) == 1714532645123
    assert millis(first) == 1714532645123  # the remembered one
    assert millis(second) == 946655999999
    assert millis(dt.datetime(2024, 5, 1, 3, 4, 5, 123000, tzinfo=dt.timezone.utc)) == 1714532645123  # equal, not the same
    assert utc(millis(second)) == second


def test_millis_passes_what_is_not_an_aware_datetime_through_for_the_field_rules():
    naive = dt.datetime(2024, 5, 1)
    assert millis(naive) is naive
    assert millis(1714532645123) == 1714532645123
    assert millis("2024-05-01") == "2024-05-01"
