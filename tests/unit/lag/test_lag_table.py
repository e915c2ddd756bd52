from rich.console import Console

from citybus.domain.lag import LagBook, PartitionSample
from citybus.lag import format_seconds, render_table


def render(table) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_table_shows_groups_statuses_and_lagging_partitions():
    book = LagBook(window=3)
    for i in range(3):
        book.record(
            [
                PartitionSample("billing", "orders", 0, 10 * i, 0, 10 * i, i * 5_000, True),
                PartitionSample("billing", "orders", 1, 5, 0, 1_000 + 100 * i, i * 5_000, True),
            ]
        )
    text = render(render_table(book.report()))
    assert "billing" in text and "ERR" in text and "STALL" in text
    assert "orders[1]" in text and "orders[0]" not in text  # caught-up partitions are left out
    assert "1,195" in text


def test_table_without_samples():
    assert "no samples yet" in render(render_table(LagBook().report()))


def test_format_seconds():
    assert [format_seconds(s) for s in (None, 3.25, 75, 7_300)] == ["–", "3.2 s", "1 m 15 s", "2 h 01 m"]


def test_a_table_too_wide_for_the_terminal_narrows_the_reason_never_a_number():
    """80 columns and a long reason: the lag count showed as `30,…`."""
    book = LagBook(window=3)
    book.record([PartitionSample("citybus-aggregation", "city.440300.insurance.contributions", 11,
                                 1_000, 0, 30_001_000, 5_000, True)])
    console = Console(width=80, record=True, color_system=None)
    console.print(render_table(book.report()))
    text = console.export_text()
    assert text.count("30,000,000") == 2, text  # the group's row and its partition's
