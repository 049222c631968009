"""The SegmentMap: an ordered list of segment rules over score levels; the first match wins.

A :class:`SegmentMap` is an ordered list of :class:`~rfmkit.segments.rules.SegmentRule` objects
written for scores ``1..levels``. A customer gets the first rule that matches their (r, f, m)
levels, else the map's ``fallback`` segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from rfmkit.errors import SegmentMapError
from rfmkit.segments.audit import Cell, SegmentAudit
from rfmkit.segments.rules import SegmentRule, _fm, _is_int

__all__ = ["SegmentMap"]

_MAX_LEVELS = 100
_MAP_KEYS = ("name", "description", "levels", "fallback", "rules", "value_order")


@dataclass(frozen=True)
class SegmentMap:
    """An ordered list of segment rules over score levels ``1..levels``; first match wins.

    Parameters
    ----------
    name : str
    levels : int
        The score scale the map is written for (5 for quintile scores).
    rules : sequence of SegmentRule
        In priority order: a customer gets the first rule that matches.
    fallback : str or None, default=None
        Segment of customers no rule matches; ``None`` makes them an error.
    description : str, default=""
    value_order : sequence of str, default=()
        Every segment name (rules and fallback), most valuable first: what "down" means when
        customers move between segments (``rfmkit history``'s movers). Empty: not declared.

    Raises
    ------
    rfmkit.errors.SegmentMapError
        No rules, duplicate names, a fallback that is also a rule name, or a range outside
        ``1..levels``.

    Notes
    -----
    Scores on any number ``n`` of levels are applied to a map written for ``L`` levels: they
    are rescaled by quantile position, ``floor((2 score - 1) L / 2n) + 1``
    (:func:`rfmkit.segments.assignment.rescale_levels`; deciles on a 5-level map: 1-2 -> 1,
    ..., 9-10 -> 5; 3 levels: 1, 3, 5). The file format is in docs/segment-maps.md.
    """

    name: str
    levels: int
    rules: tuple[SegmentRule, ...]
    fallback: str | None = None
    description: str = ""
    value_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SegmentMapError(f"A segment map needs a non-empty name. Got {self.name!r}.")
        if not _is_int(self.levels) or not 2 <= self.levels <= _MAX_LEVELS:
            raise SegmentMapError(
                f"Segment map {self.name!r}: levels must be an int from 2 to {_MAX_LEVELS}. "
                f"Got {self.levels!r} instead."
            )
        if isinstance(self.rules, (str, Mapping)) or not isinstance(self.rules, Iterable):
            raise SegmentMapError(f"Segment map {self.name!r}: rules must be a list of rules.")
        rules = tuple(self.rules)
        if not rules:
            raise SegmentMapError(f"Segment map {self.name!r} has no rules; add at least one.")
        if not all(isinstance(rule, SegmentRule) for rule in rules):
            raise SegmentMapError(
                f"Segment map {self.name!r}: every rule must be a SegmentRule "
                "(use SegmentMap.from_dict for plain dicts)."
            )
        object.__setattr__(self, "rules", rules)
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise SegmentMapError(
                    f"Segment map {self.name!r} has two rules named {rule.name!r}. Names must "
                    "be unique; give one rule several boxes with any_of instead."
                )
            seen.add(rule.name)
            for box in rule.boxes:
                for axis, (lo, hi) in box.items():
                    if hi > self.levels:
                        raise SegmentMapError(
                            f"Segment map {self.name!r}, rule {rule.name!r}: the {axis} range "
                            f"[{lo}, {hi}] is outside the levels 1..{self.levels} of the map."
                        )
        if self.fallback is not None:
            if not isinstance(self.fallback, str) or not self.fallback.strip():
                raise SegmentMapError(
                    f"Segment map {self.name!r}: fallback must be a non-empty name or None."
                )
            if self.fallback in seen:
                raise SegmentMapError(
                    f"Segment map {self.name!r}: the fallback {self.fallback!r} is also a rule "
                    "name; give it another name or widen that rule instead."
                )
        if not isinstance(self.description, str):
            raise SegmentMapError(f"Segment map {self.name!r}: description must be a string.")
        _check_value_order(self)

    # --- structure -----------------------------------------------------------------------------
    @property
    def segment_names(self) -> tuple[str, ...]:
        """Rule names in order, then the fallback (if any)."""
        names = tuple(rule.name for rule in self.rules)
        return names + ((self.fallback,) if self.fallback is not None else ())

    @property
    def axes(self) -> tuple[str, ...]:
        """The map's natural grid: ``("r", "fm")``, ``("r", "f")`` or ``("r", "f", "m")``."""
        used = frozenset().union(*(rule.axes for rule in self.rules))
        if "fm" in used and used <= {"r", "fm"}:
            return ("r", "fm")
        if used <= {"r", "f"}:
            return ("r", "f")
        return ("r", "f", "m")

    def rule(self, name: str) -> SegmentRule:
        """The rule called ``name``."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def _first_match(self, values: Mapping[str, np.ndarray], size: int):
        """Per cell: index of the winning rule (-1 if none) and the boolean match matrix."""
        matches = np.stack([rule._mask(values, size) for rule in self.rules])
        winner = np.where(matches.any(axis=0), matches.argmax(axis=0), -1)
        return winner, matches

    @cached_property
    def _cube(self) -> np.ndarray:
        """Segment code of every (r, f, m) cell, flat index ((r-1)L + f-1)L + m-1; -1 = none."""
        grid = np.indices((self.levels,) * 3).reshape(3, -1) + 1
        r, f, m = grid
        winner, _ = self._first_match({"r": r, "f": f, "m": m, "fm": _fm(f, m)}, r.size)
        if self.fallback is not None:
            winner = np.where(winner < 0, len(self.rules), winner)
        return winner

    # --- checks --------------------------------------------------------------------------------
    def audit(self) -> SegmentAudit:
        """Check coverage, overlaps and unreachable rules over every cell of the natural grid."""
        axes = self.axes
        grid = np.indices((self.levels,) * len(axes)).reshape(len(axes), -1) + 1
        values = dict(zip(axes, grid, strict=True))
        winner, matches = self._first_match(values, grid.shape[1])
        names = [rule.name for rule in self.rules]
        cells = [tuple(int(v) for v in col) for col in grid.T]
        assignment: dict[Cell, str | None] = {}
        overlaps = []
        for i, cell in enumerate(cells):
            assignment[cell] = names[winner[i]] if winner[i] >= 0 else self.fallback
            if matches[:, i].sum() > 1:
                overlaps.append((cell, tuple(names[j] for j in np.flatnonzero(matches[:, i]))))
        won = set(winner[winner >= 0].tolist())
        return SegmentAudit(
            map_name=self.name,
            axes=axes,
            levels=self.levels,
            segments=self.segment_names,
            assignment=assignment,
            unassigned=tuple(c for i, c in enumerate(cells) if winner[i] < 0),
            overlaps=tuple(overlaps),
            unreachable=tuple(n for j, n in enumerate(names) if j not in won),
            fallback=self.fallback,
        )

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready dict; :meth:`from_dict` rebuilds an equal map."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["levels"] = self.levels
        out["fallback"] = self.fallback
        out["rules"] = [rule.to_dict() for rule in self.rules]
        if self.value_order:
            out["value_order"] = list(self.value_order)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> SegmentMap:
        """Build and validate a map from a dict (a parsed YAML/JSON file or :meth:`to_dict`).

        Parameters
        ----------
        data : mapping
            Keys ``name``, ``levels``, ``rules`` (required), ``fallback``, ``description``.
        source : str or None
            Where the dict came from, used in error messages (e.g. the file name).
        """
        try:
            if not isinstance(data, Mapping):
                raise SegmentMapError(
                    f"A segment map must be a mapping with name, levels and rules; got "
                    f"{type(data).__name__}."
                )
            unknown = [k for k in data if k not in _MAP_KEYS]
            missing = [k for k in ("name", "levels", "rules") if k not in data]
            if unknown or missing:
                raise SegmentMapError(
                    (f"unknown key(s) {', '.join(map(repr, unknown))}; " if unknown else "")
                    + (f"missing key(s) {', '.join(map(repr, missing))}; " if missing else "")
                    + f"a segment map has the keys {', '.join(_MAP_KEYS)}."
                )
            rules = data["rules"]
            if not isinstance(rules, list):
                raise SegmentMapError("'rules' must be a list of rules.")
            return cls(
                name=data["name"],
                levels=data["levels"],
                rules=tuple(SegmentRule.from_dict(rule) for rule in rules),
                fallback=data.get("fallback"),
                description=data.get("description") or "",
                value_order=_names(data.get("value_order")),
            )
        except SegmentMapError as exc:
            if source is None:
                raise
            raise SegmentMapError(f"In {source}: {exc}") from exc



def _names(value: Any) -> tuple[str, ...]:
    """``value_order`` as given in a file: a list of names (anything else is refused later)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise SegmentMapError(f"'value_order' must be a list of segment names, best first; got "
                          f"{value!r}.")


def _check_value_order(self: SegmentMap) -> None:
    """A declared value order names every segment exactly once."""
    order = self.value_order
    if not order:
        return
    names = self.segment_names
    repeated = sorted({n for n in order if list(order).count(n) > 1})
    unknown = [n for n in order if n not in names]
    missing = [n for n in names if n not in order]
    if repeated or unknown or missing:
        problems = [f"{what} {', '.join(map(repr, found))}" for what, found in (
            ("repeats", repeated), ("names no segment", unknown), ("leaves out", missing))
            if found]
        raise SegmentMapError(
            f"Segment map {self.name!r}: value_order {'; '.join(problems)}. List every segment "
            f"once, most valuable first: {', '.join(map(repr, names))}.")

