"""What `citybus migrate` and the demo print: the steps that moved between two views."""
from citybus.migration.timeline import TimelineEntry, changes, entry_text, steps_table


def view(status: str, precheck: tuple[str, int], scope_status: str) -> dict:
    return {"migration_id": "m-1", "subject_type": "PERSON", "subject_id": "x", "from_city": "440300",
            "to_city": "442000", "status": status, "reason": None,
            "scopes": {"PENSION": {"status": scope_status, "steps": [
                {"step": "PRECHECK", "city": "442000", "status": precheck[0], "attempts": precheck[1]},
                {"step": "TRANSFER_OUT", "city": "440300", "status": "PENDING", "attempts": 0}]}}}


def test_the_first_view_shows_what_was_sent_and_the_statuses() -> None:
    assert changes(None, view("IN_PROGRESS", ("SENT", 1), "IN_PROGRESS")) == [
        TimelineEntry("PENSION", "PRECHECK", "442000", "SENT", 1),
        TimelineEntry("PENSION", None, None, "IN_PROGRESS"),
        TimelineEntry(None, None, None, "IN_PROGRESS"),
    ]


def test_a_resend_and_an_answer_are_entries_an_unchanged_view_is_none() -> None:
    first = view("IN_PROGRESS", ("SENT", 1), "IN_PROGRESS")
    resent = view("IN_PROGRESS", ("SENT", 2), "IN_PROGRESS")
    assert changes(first, first) == []
    assert changes(first, resent) == [TimelineEntry("PENSION", "PRECHECK", "442000", "SENT", 2)]
    assert "attempt 2" in entry_text(changes(first, resent)[0], 1.0).plain
    done = view("FAILED", ("REJECTED", 2), "REJECTED")
    assert [e.status for e in changes(resent, done)] == ["REJECTED", "REJECTED", "FAILED"]
    assert steps_table(done).row_count == 1
