"""A request_id names one request on the whole bus (contributions.md: "`request_id` (string,
unique)"): the first request under an id claims it, and a later one under the same id is refused.

Requests are kept per person, in the person's partition, so two cities' requests for two
residents under one id would each get a statement, and the lookup by request_id would answer
whichever came last. So a retirement request first goes, bytes untouched, to `CLAIMS_TOPIC` in
the partition of its request_id; the worker owning that partition keeps `C`+request_id -> the
claiming request (changelogged) and sends the request on to the person's partition (hop
`CLAIMED`), where its statement is issued; or it dead-letters it REQUEST_CONFLICT when the id is
another request's (another resident's, or the same resident's with other content).
"""
from __future__ import annotations

import json

from citybus.aggregation.book import request_json
from citybus.domain.contributions import RetirementRequest

__all__ = ["CLAIMS_TOPIC", "CLAIMED", "CLAIM", "claim_value", "claim_conflict"]

CLAIMS_TOPIC = "citybus-aggregation-requests-by-id"
CLAIMED = b"claimed"  # the hop of a request sent on to its person's partition once its id is its own
CLAIM = b"C"  # store prefix: C + request_id -> the claiming request (JSON)


def claim_value(request: RetirementRequest) -> bytes:
    return json.dumps(request_json(request), separators=(",", ":")).encode()


def claim_conflict(claimed: bytes, request: RetirementRequest) -> str | None:
    """None when the id's claim is this request's own (a redelivery), else why it is refused;
    the reason does not name the other resident (dead letters are read by operators of any city)."""
    held = json.loads(claimed)
    if held == request_json(request):
        return None
    whose = "another resident" if held.get("resident_id") != request.resident_id else "this resident"
    return f"request_id: {request.request_id} was already requested by {whose} with other content"
