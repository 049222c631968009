"""Parameter validation in one place: each estimator declares its constraints as data."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

from rfmkit.errors import ParameterError

Constraint = Callable[[Any], bool] | type | tuple | str | None


class Interval:
    """A numeric interval constraint; ``closed`` in {"both", "left", "right", "neither"}."""

    def __init__(self, kind: type, low: float | None, high: float | None, closed: str = "both"):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.kind is numbers.Integral else "a float" if (
            self.kind is numbers.Real) else f"a {self.kind.__name__}"
        lo = "" if self.low is None else (">= " if self.closed in ("both", "left") else "> ") + (
            f"{self.low}")
        hi = "" if self.high is None else ("<= " if self.closed in ("both", "right") else "< ") + (
            f"{self.high}")
        bounds = " and ".join(b for b in (lo, hi) if b)
        return f"{kind} {bounds}".strip()


class Options:
    """One of a fixed set of values."""

    def __init__(self, *values: Any):
        self.values = values

    def __call__(self, value: Any) -> bool:
        # Compare one by one: `in` on an array value would raise "truth value is ambiguous".
        return any(isinstance(value, type(v)) and value == v for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__}"
    if isinstance(constraint, str):
        return constraint
    return str(constraint)


def _satisfies(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        if constraint is bool:
            return isinstance(value, bool)
        return isinstance(value, constraint) and not isinstance(value, bool)
    if callable(constraint):
        return bool(constraint(value))
    raise TypeError(f"unknown constraint {constraint!r}")  # pragma: no cover - programming error


def validate_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, list]) -> None:
    """Raise ParameterError in scikit-learn's wording if a parameter fits none of its constraints.

    ``constraints`` maps a parameter name to a list of alternatives: ``None``, a type, an
    :class:`Interval`, an :class:`Options` or any predicate.
    """
    for name, alternatives in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfies(c, value) for c in alternatives):
            continue
        wanted = " or ".join(_describe(c) for c in alternatives)
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {wanted}. Got {value!r} instead."
        )
