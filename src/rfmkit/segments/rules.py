"""Segment rules: one named box of score-level ranges (or a union of boxes) and its matching.

A rule constrains inclusive ranges over the axes ``r``, ``f``, ``m`` and ``fm``
(``FM = floor((F + M) / 2 + 0.5)``), or is a union of such boxes (``any_of``), because the
segments of the classic R x FM grid are staircase shapes, not rectangles.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np

from rfmkit.errors import SegmentMapError

__all__ = ["SegmentRule"]

AXES = ("r", "f", "m", "fm")
_RULE_KEYS = ("name", *AXES, "any_of", "description", "action")

Range = tuple[int, int]
Box = tuple[tuple[str, Range], ...]


def _fm(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """FM = floor((F + M) / 2 + 0.5), computed exactly on integers."""
    return (f + m + 1) // 2


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _range(value: Any, *, rule: str, axis: str) -> Range:
    """Normalise ``5`` or ``(lo, hi)`` / ``[lo, hi]`` to an inclusive ``(lo, hi)`` of ints."""
    if _is_int(value):
        lo = hi = int(value)
    elif (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(_is_int(v) for v in value)
    ):
        lo, hi = int(value[0]), int(value[1])
    else:
        raise SegmentMapError(
            f"Rule {rule!r}: the {axis} range must be an int or a pair [lo, hi] of ints. "
            f"Got {value!r} instead."
        )
    if lo < 1 or lo > hi:
        raise SegmentMapError(
            f"Rule {rule!r}: the {axis} range [{lo}, {hi}] is empty or below 1; write "
            "[lo, hi] with 1 <= lo <= hi."
        )
    return lo, hi


def _box(spec: Any, *, rule: str) -> Box:
    if not isinstance(spec, Mapping) or not spec:
        raise SegmentMapError(
            f"Rule {rule!r}: each entry of any_of must be a non-empty mapping of axes to "
            f"ranges, e.g. {{r: [4, 5], fm: 5}}. Got {spec!r} instead."
        )
    unknown = [k for k in spec if k not in AXES]
    if unknown:
        raise SegmentMapError(
            f"Rule {rule!r}: unknown axis {', '.join(map(repr, unknown))} in any_of; the axes "
            f"are {', '.join(AXES)}."
        )
    return tuple((axis, _range(spec[axis], rule=rule, axis=axis)) for axis in AXES if axis in spec)


@dataclass(frozen=True)
class SegmentRule:
    """One named segment: inclusive ranges of score levels, or a union of such boxes.

    Parameters
    ----------
    name : str
        Segment name.
    r, f, m, fm : (int, int) or int or None
        Inclusive ranges of levels; ``None`` matches any level; an int ``k`` means ``(k, k)``.
        ``fm`` is the rounded mean ``floor((F + M) / 2 + 0.5)``.
    any_of : sequence of mappings
        Alternatively, several boxes ``{axis: range}``; the rule matches when any box does.
        Cannot be combined with ``r``/``f``/``m``/``fm``.
    description : str
        Who these customers are.
    action : str
        A one-line suggested marketing action.

    A rule with no range and no ``any_of`` matches every customer.
    """

    name: str
    _: KW_ONLY
    r: Range | None = None
    f: Range | None = None
    m: Range | None = None
    fm: Range | None = None
    any_of: tuple[Box, ...] = ()
    description: str = ""
    action: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SegmentMapError(f"A segment name must be a non-empty string. Got {self.name!r}.")
        for text in ("description", "action"):
            if not isinstance(getattr(self, text), str):
                raise SegmentMapError(f"Rule {self.name!r}: {text} must be a string.")
        for axis in AXES:
            value = getattr(self, axis)
            if value is not None:
                object.__setattr__(self, axis, _range(value, rule=self.name, axis=axis))
        if isinstance(self.any_of, (Mapping, str)) or not isinstance(self.any_of, Iterable):
            raise SegmentMapError(f"Rule {self.name!r}: any_of must be a list of boxes.")
        boxes = tuple(_box(_as_mapping(spec), rule=self.name) for spec in self.any_of)
        if boxes and any(getattr(self, axis) is not None for axis in AXES):
            raise SegmentMapError(
                f"Rule {self.name!r} has both ranges and any_of; move the ranges into any_of."
            )
        object.__setattr__(self, "any_of", boxes)

    @property
    def boxes(self) -> tuple[dict[str, Range], ...]:
        """The rule as a union of boxes ``{axis: (lo, hi)}`` (one empty box = match all)."""
        if self.any_of:
            return tuple(dict(box) for box in self.any_of)
        return ({axis: getattr(self, axis) for axis in AXES if getattr(self, axis) is not None},)

    @property
    def axes(self) -> frozenset[str]:
        """The axes this rule constrains."""
        return frozenset(axis for box in self.boxes for axis in box)

    def _mask(self, values: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        hit = np.zeros(size, dtype=bool)
        for box in self.boxes:
            inside = np.ones(size, dtype=bool)
            for axis, (lo, hi) in box.items():
                inside &= (values[axis] >= lo) & (values[axis] <= hi)
            hit |= inside
        return hit

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready dict; ranges as ``[lo, hi]`` lists, empty fields left out."""
        out: dict[str, Any] = {"name": self.name}
        for axis in AXES:
            if getattr(self, axis) is not None:
                out[axis] = list(getattr(self, axis))
        if self.any_of:
            out["any_of"] = [{axis: list(rng) for axis, rng in box} for box in self.any_of]
        if self.description:
            out["description"] = self.description
        if self.action:
            out["action"] = self.action
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentRule:
        """Build a rule from :meth:`to_dict` output (or a hand-written YAML/JSON entry)."""
        if not isinstance(data, Mapping):
            raise SegmentMapError(f"Each rule must be a mapping with a name. Got {data!r}.")
        unknown = [k for k in data if k not in _RULE_KEYS]
        if unknown:
            raise SegmentMapError(
                f"Rule {data.get('name', '?')!r} has unknown key(s) "
                f"{', '.join(map(repr, unknown))}; allowed keys: {', '.join(_RULE_KEYS)}."
            )
        if "name" not in data:
            raise SegmentMapError(f"A rule has no name: {dict(data)!r}.")
        kwargs = dict(data)
        kwargs["any_of"] = kwargs.get("any_of") or ()
        if not isinstance(kwargs["any_of"], Sequence) or isinstance(kwargs["any_of"], str):
            raise SegmentMapError(f"Rule {data['name']!r}: any_of must be a list of boxes.")
        for text in ("description", "action"):
            if kwargs.get(text) is None:
                kwargs[text] = ""
        return cls(**kwargs)


def _as_mapping(spec: Any) -> Any:
    """Accept a normalised box (a tuple of (axis, range) pairs) as well as a mapping."""
    if isinstance(spec, tuple):
        try:
            return dict(spec)
        except (TypeError, ValueError):
            return spec
    return spec

