"""The contribution-record aggregation service (contributions.md): a stateful aiokafka worker
(citybus.streams.worker) around `citybus.domain.contributions`, with batch coalescing and HTTP queries."""
from citybus.aggregation.batch import PersonEvents, PersonOutcome, Rejected, apply_person, group_by_resident
from citybus.aggregation.book import IssuedStatement, RetirementBook

__all__ = ["PersonEvents", "PersonOutcome", "Rejected", "apply_person", "group_by_resident", "IssuedStatement",
           "RetirementBook"]
