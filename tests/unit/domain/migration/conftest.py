"""Fixtures for the migration saga tests (helpers live in migration_support, a unique module name)."""
from __future__ import annotations

import pytest
from migration_support import POLICY, Run, request

from citybus.domain.migration import SagaPolicy, scopes_of


@pytest.fixture
def start():
    """start(**request_fields) -> Run, with the source city holding every requested relation."""

    def _start(policy: SagaPolicy = POLICY, **fields) -> Run:
        req = request(**fields)
        run = Run(policy=policy, now=req.requested_at)
        for scope in req.scopes or scopes_of(req.subject_type):
            run.ledger.grant(req.from_city, req.subject_id, scope)
        run.feed(req)
        return run

    return _start
