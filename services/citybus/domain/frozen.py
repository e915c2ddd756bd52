"""`evolve`: `dataclasses.replace` for the saga state's frozen dataclasses, at a third of its cost.

The orchestrator changes a saga by copying it: a reply replaces its step, the step's scope, the
saga, and the subject that holds the saga, each through `replace`. `dataclasses.replace` reads
every field and calls the generated `__init__`, which sets each one through `object.__setattr__`
(frozen): 1.48 us for a StepState, against 0.48 us for copying the instance's `__dict__` with the
changes. The copy is the same value only where `__init__` does nothing but store its arguments,
so `evolve` takes only such classes: a frozen dataclass (not slotted) whose every field is an
`__init__` argument, with no `__post_init__`. Anything else is refused (`TypeError`), as is a name
that is not a field.
"""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["evolve"]

T = TypeVar("T")

_FIELDS: dict[type, frozenset[str]] = {}


def evolve(obj: T, /, **changes: Any) -> T:
    """A copy of `obj` with `changes`: equal to `dataclasses.replace(obj, **changes)`."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = _plain_fields(cls)
    if not names.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - names))
        raise TypeError(f"{cls.__name__} has no field {unknown}")
    state = obj.__dict__.copy()
    state.update(changes)
    new = object.__new__(cls)
    object.__setattr__(new, "__dict__", state)
    return new


def _plain_fields(cls: type) -> frozenset[str]:
    params = getattr(cls, "__dataclass_params__", None)
    if (params is None or not params.frozen or "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__")
            or not all(f.init for f in dataclasses.fields(cls))):
        raise TypeError(f"{cls.__name__}: evolve copies frozen dataclasses (not slotted) whose every field is "
                        "an __init__ argument, with no __post_init__; use dataclasses.replace")
    return frozenset(f.name for f in dataclasses.fields(cls))
