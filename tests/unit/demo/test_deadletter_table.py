"""The demo's dead-letter table: counted per service and reason code, one reason shown whole."""
from __future__ import annotations

from rich.console import Console

from citybus.demo.run import REASON_SHOWN, deadletter_table


def letter(code: str, reason: str, topic: str = "city.440300.insurance.contributions") -> dict:
    return {"service": "aggregation", "reason_code": code, "reason": reason, "source_topic": topic}


def rendered(letters: list[dict]) -> str:
    console = Console(width=120, record=True)
    console.print(deadletter_table(letters, len(letters)))
    return " ".join(console.export_text().split())  # the reason column folds over several lines


def test_a_reason_is_shown_whole_not_cut_mid_word():
    """It was cut at 100 characters: 'IndexError: string i' read like a broken message."""
    reason = ("corrupt or truncated citybus.insurance.ContributionRecorded v1 body (76 bytes): "
              "IndexError: string index out of range")
    text = rendered([letter("UNDECODABLE", reason), letter("UNDECODABLE", "another", "city.442000.x")])
    assert "string index out of range" in text
    assert "UNDECODABLE │ 2 │ 2" in text.replace("┃", "│")  # two letters from two topics


def test_a_reason_longer_than_shown_ends_in_an_ellipsis_and_folds():
    long = [letter("INVALID_FIELD", "y" * (REASON_SHOWN + 50))]
    assert list(deadletter_table(long, 1).columns[4].cells) == ["y" * (REASON_SHOWN - 1) + "…"]
    assert rendered(long).count("y") == REASON_SHOWN - 1  # folded over lines, none cut by the column
