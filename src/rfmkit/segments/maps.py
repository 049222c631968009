"""Named segments as data: ordered rules over score levels, checked for coverage and overlaps.

A :class:`SegmentMap` is an ordered list of :class:`SegmentRule` objects written for scores
``1..levels``. A customer gets the first rule that matches their (r, f, m) levels, else the map's
``fallback`` segment. A rule is a box of inclusive ranges over the axes ``r``, ``f``, ``m`` and
``fm`` (``FM = floor((F + M) / 2 + 0.5)``), or a union of such boxes (``any_of``), because the
segments of the classic R x FM grid are staircase shapes, not rectangles.

Built-in maps are package data (``rfmkit/segments/builtin/*.yaml``); see
:func:`builtin_segment_maps`.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError, SegmentMapError

__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "SUMMARY_COLUMNS",
    "SegmentAudit",
    "SegmentMap",
    "SegmentRule",
    "assign_segments",
    "builtin_segment_maps",
    "load_segment_map",
    "segment_summary",
]

#: Name of the built-in map used when none is chosen.
DEFAULT_SEGMENT_MAP = "rfm-grid-11"

#: Columns of :func:`segment_summary` (``segments.csv``).
SUMMARY_COLUMNS = (
    schema.SEGMENT,
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "recency_mean",
    "recency_median",
    "frequency_mean",
    "frequency_median",
    "monetary_mean",
    "monetary_median",
)

AXES = ("r", "f", "m", "fm")
_MAX_LEVELS = 100
_RULE_KEYS = ("name", *AXES, "any_of", "description", "action")
_MAP_KEYS = ("name", "description", "levels", "fallback", "rules")
_AXIS_SCORE = {"r": schema.R_SCORE, "f": schema.F_SCORE, "m": schema.M_SCORE}
_MAPS_PACKAGE = "rfmkit.segments.builtin"
_MAP_SUFFIXES = (".yaml", ".yml", ".json")

Range = tuple[int, int]
Box = tuple[tuple[str, Range], ...]
Cell = tuple[int, ...]


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


def _cell_text(cell: Cell) -> str:
    return ",".join(str(v) for v in cell)


@dataclass(frozen=True)
class SegmentAudit:
    """Coverage check of a :class:`SegmentMap` over every cell of its natural grid.

    Attributes
    ----------
    map_name : str
    axes : tuple of str
        The grid: ``("r", "fm")`` for maps written over R and FM, ``("r", "f")`` for R x F
        maps, ``("r", "f", "m")`` otherwise.
    levels : int
    segments : tuple of str
        Rule names in order, then the fallback (if any).
    assignment : dict
        Each cell (tuple of levels, in ``axes`` order) to its segment: the first matching rule,
        else the fallback, else ``None``.
    unassigned : tuple of cells
        Cells no rule matches (they go to the fallback, or are an error without one).
    overlaps : tuple of (cell, tuple of str)
        Cells matched by more than one rule, with the matching rules in order; the first wins.
    unreachable : tuple of str
        Rules that win no cell.
    fallback : str or None

    Derived properties: ``n_cells``, ``is_complete_partition`` (no unassigned cell, no overlap),
    ``unassigned_without_fallback`` and ``cells_per_segment``.
    """

    map_name: str
    axes: tuple[str, ...]
    levels: int
    segments: tuple[str, ...]
    assignment: dict[Cell, str | None]
    unassigned: tuple[Cell, ...]
    overlaps: tuple[tuple[Cell, tuple[str, ...]], ...]
    unreachable: tuple[str, ...]
    fallback: str | None

    @property
    def n_cells(self) -> int:
        return len(self.assignment)

    @property
    def unassigned_without_fallback(self) -> tuple[Cell, ...]:
        """Cells that get no segment at all (the map has no fallback); empty with a fallback."""
        return self.unassigned if self.fallback is None else ()

    @property
    def is_complete_partition(self) -> bool:
        """Every cell is matched by exactly one rule."""
        return not self.unassigned and not self.overlaps

    @property
    def cells_per_segment(self) -> dict[str, int]:
        """Number of cells each segment gets, in map order (the fallback last)."""
        counts = dict.fromkeys(self.segments, 0)
        for name in self.assignment.values():
            if name is not None:
                counts[name] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (cells as lists of levels in ``axes`` order)."""
        return {
            "map": self.map_name,
            "axes": list(self.axes),
            "levels": self.levels,
            "n_cells": self.n_cells,
            "is_complete_partition": self.is_complete_partition,
            "fallback": self.fallback,
            "unassigned": [list(c) for c in self.unassigned],
            "unassigned_without_fallback": [list(c) for c in self.unassigned_without_fallback],
            "overlaps": [
                {"cell": list(c), "rules": list(rules), "winner": rules[0]}
                for c, rules in self.overlaps
            ],
            "unreachable": list(self.unreachable),
            "cells_per_segment": self.cells_per_segment,
        }

    def to_text(self, *, max_cells: int = 12) -> str:
        """Plain-text report for ``rfmkit segments check``."""

        def cells(items: Sequence[Cell]) -> str:
            shown = "  ".join(_cell_text(c) for c in items[:max_cells])
            return shown + (f"  ... (+{len(items) - max_cells} more)" if len(items) > max_cells
                            else "")

        grid = " x ".join(a.upper() for a in self.axes)
        lines = [
            f"Segment map {self.map_name!r}: {len(self.segments) - bool(self.fallback)} rules, "
            f"levels 1..{self.levels}, {grid} grid of {self.n_cells} cells "
            f"(cells written {','.join(self.axes)}).",
            f"Complete partition: {'yes' if self.is_complete_partition else 'no'}.",
        ]
        if self.unassigned:
            where = (f"go to the fallback {self.fallback!r}" if self.fallback
                     else "have no segment (an error when customers fall in them)")
            lines.append(f"Unassigned: {len(self.unassigned)} cells {where}: "
                         f"{cells(self.unassigned)}")
        else:
            lines.append("Unassigned: none.")
        if self.overlaps:
            lines.append(f"Overlaps: {len(self.overlaps)} cells match more than one rule "
                         "(the first rule wins):")
            groups: dict[tuple[str, ...], list[Cell]] = {}
            for cell, rules in self.overlaps:
                groups.setdefault(rules, []).append(cell)
            for rules, group in groups.items():
                lines.append(f"  {rules[0]} over {', '.join(rules[1:])}: {cells(group)}")
        else:
            lines.append("Overlaps: none.")
        lines.append(
            "Unreachable segments: "
            + (", ".join(map(repr, self.unreachable)) if self.unreachable else "none") + "."
        )
        lines.append("Cells per segment:")
        width = max(len(s) for s in self.segments) + len(" (fallback)")
        for name, count in self.cells_per_segment.items():
            label = name + (" (fallback)" if name == self.fallback else "")
            lines.append(f"  {label:<{width}} {count:>4}")
        return "\n".join(lines)


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

    Raises
    ------
    rfmkit.errors.SegmentMapError
        No rules, duplicate names, a fallback that is also a rule name, or a range outside
        ``1..levels``.

    Notes
    -----
    Scores on ``n`` levels are applied to a map written for ``L`` levels only when ``n`` is a
    multiple of ``L``: each map level then groups ``n / L`` consecutive score levels,
    ``level = ceil(score * L / n)`` (deciles on a 5-level map: 1-2 -> 1, ..., 9-10 -> 5).
    Other combinations (quartiles on a 5-level map) would give some map levels more score levels
    than others, or leave some unreachable, and raise :class:`~rfmkit.errors.SegmentMapError`.
    """

    name: str
    levels: int
    rules: tuple[SegmentRule, ...]
    fallback: str | None = None
    description: str = ""

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
            )
        except SegmentMapError as exc:
            if source is None:
                raise
            raise SegmentMapError(f"In {source}: {exc}") from exc


# --- built-in maps and files -------------------------------------------------------------------
def builtin_segment_maps() -> list[str]:
    """Names of the built-in segment maps (usable with :func:`load_segment_map`), sorted."""
    names = []
    for entry in resources.files(_MAPS_PACKAGE).iterdir():
        if entry.name.endswith(".yaml"):
            names.append(entry.name[: -len(".yaml")])
    return sorted(names)


def load_segment_map(name_or_path: str | Path | SegmentMap) -> SegmentMap:
    """Load a built-in map by name, or a map from a ``.yaml``/``.yml``/``.json`` file.

    Parameters
    ----------
    name_or_path : str, pathlib.Path or SegmentMap
        A name from :func:`builtin_segment_maps`, or a file path. A :class:`SegmentMap` is
        returned unchanged. YAML is read with ``yaml.safe_load``. A file without a ``name`` key
        is named after the file.

    Raises
    ------
    rfmkit.errors.SegmentMapError
        Unknown name, missing or unreadable file, or an invalid map; the message names the file.
    """
    if isinstance(name_or_path, SegmentMap):
        return name_or_path
    builtins = builtin_segment_maps()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        text = resources.files(_MAPS_PACKAGE).joinpath(f"{name_or_path}.yaml").read_text(
            encoding="utf-8"
        )
        return SegmentMap.from_dict(yaml.safe_load(text), source=f"built-in map {name_or_path!r}")
    path = Path(name_or_path)
    if not path.is_file():
        raise SegmentMapError(
            f"{str(name_or_path)!r} is neither a built-in segment map ({', '.join(builtins)}) "
            "nor an existing file. Give a built-in name or the path of a .yaml or .json map."
        )
    suffix = path.suffix.lower()
    if suffix not in _MAP_SUFFIXES:
        raise SegmentMapError(
            f"Segment map file {str(path)!r} has the suffix {path.suffix!r}; use .yaml, .yml "
            "or .json."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SegmentMapError(f"Cannot read segment map file {str(path)!r}: {exc}.") from exc
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if suffix == ".json" else "YAML"
        detail = " ".join(str(exc).split())
        raise SegmentMapError(
            f"Segment map file {str(path)!r} is not valid {kind}: {detail}"
        ) from exc
    if isinstance(data, dict) and "name" not in data:
        data = {"name": path.stem, **data}
    return SegmentMap.from_dict(data, source=f"segment map file {str(path)!r}")


# --- assignment --------------------------------------------------------------------------------
def _map_levels(scores: pd.DataFrame, axis: str, n_levels: int, map_levels: int) -> np.ndarray:
    column = _AXIS_SCORE[axis]
    if column not in scores.columns:
        raise SchemaError(
            f"Missing score column {column!r} for segment assignment. Columns found: "
            f"{', '.join(map(repr, map(str, scores.columns)))}."
        )
    series = scores[column]
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise InputError(f"Score column {column!r} must be numeric; got dtype {series.dtype}.")
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 1) | (values > n_levels)
    if bad.any():
        example = values[bad][0]
        raise InputError(
            f"Score column {column!r} must hold integer levels 1..{n_levels}; found {example:g} "
            f"({int(bad.sum())} bad value(s)). Convert percentile scores (0..100) with "
            "rfmkit.score_levels first, and pass the number of score levels as n_levels."
        )
    levels = values.astype("int64")
    if n_levels == map_levels:
        return levels
    return (levels - 1) // (n_levels // map_levels) + 1


def assign_segments(
    scores: pd.DataFrame, segment_map: SegmentMap | str, *, n_levels: int
) -> pd.Series:
    """Name each customer's segment: the first rule of ``segment_map`` that matches.

    Parameters
    ----------
    scores : pandas.DataFrame
        Integer score levels ``1..n_levels`` in ``r_score``, ``f_score``, ``m_score``. Only the
        columns of the map's grid (:attr:`SegmentMap.axes`; ``fm`` needs f and m) are needed.
        Convert percentile scores with :func:`rfmkit.score_levels` first.
    segment_map : SegmentMap or str
        A map, or a name/path for :func:`load_segment_map`.
    n_levels : int
        Number of score levels. When it differs from ``segment_map.levels`` it must be a
        multiple of it; scores are then grouped: ``level = ceil(score * L / n_levels)``.

    Returns
    -------
    segments : pandas.Series
        Named ``segment``, indexed like ``scores``; a categorical whose categories are the
        map's segments in rule order (fallback last), so empty segments are kept.

    Raises
    ------
    rfmkit.errors.SegmentMapError
        The score scale cannot be mapped, or customers fall in cells no rule matches and the map
        has no fallback (the message lists those cells and their customer counts).
    """
    segment_map = load_segment_map(segment_map)
    if not _is_int(n_levels) or n_levels < 1:
        raise SegmentMapError(f"n_levels must be a positive int. Got {n_levels!r} instead.")
    L = segment_map.levels
    if n_levels != L and n_levels % L:
        raise SegmentMapError(
            f"Segment map {segment_map.name!r} is written for score levels 1..{L} but the scores "
            f"have {n_levels} levels; rescaling needs a multiple of {L} ({L}, {2 * L}, "
            f"{3 * L}, ...). Score with n_bins={L}, or use a map written for {n_levels} levels."
        )
    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"Expected a DataFrame of scores; got {type(scores).__name__}.")
    # The columns of the map's natural grid are required (fm needs f and m), even when no rule
    # constrains one of them, so that error messages show real cells.
    needed = {"r", *("f" if axis == "fm" else axis for axis in segment_map.axes)}
    if "fm" in segment_map.axes:
        needed.add("m")
    size = len(scores)
    levels = {
        axis: _map_levels(scores, axis, n_levels, L) if axis in needed
        else np.ones(size, dtype="int64")
        for axis in ("r", "f", "m")
    }
    flat = ((levels["r"] - 1) * L + (levels["f"] - 1)) * L + (levels["m"] - 1)
    codes = segment_map._cube[flat]
    if (codes < 0).any():
        raise SegmentMapError(_unmatched_message(segment_map, levels, codes < 0))
    categorical = pd.Categorical.from_codes(codes, categories=list(segment_map.segment_names))
    return pd.Series(categorical, index=scores.index, name=schema.SEGMENT)


def _unmatched_message(segment_map: SegmentMap, levels: dict, unmatched: np.ndarray) -> str:
    axes = segment_map.axes
    values = {**levels, "fm": _fm(levels["f"], levels["m"])}
    cells = np.column_stack([values[a][unmatched] for a in axes])
    unique, counts = np.unique(cells, axis=0, return_counts=True)
    listed = ", ".join(
        f"{_cell_text(tuple(cell.tolist()))} ({count} customer{'s' if count != 1 else ''})"
        for cell, count in list(zip(unique, counts, strict=True))[:20]
    )
    more = f", ... ({len(unique) - 20} more cells)" if len(unique) > 20 else ""
    return (
        f"Segment map {segment_map.name!r} has no fallback and no rule for {len(unique)} score "
        f"cell(s) ({','.join(axes)}) holding {int(unmatched.sum())} customers: {listed}{more}. "
        "Add rules covering these cells or set a fallback segment (e.g. fallback: Others); "
        "'rfmkit segments check' lists every uncovered cell."
    )


def _share(part: np.ndarray, total: float) -> np.ndarray:
    """Fractions of ``total``; NaN when the total is zero (no customers, or no revenue)."""
    if total == 0:
        return np.full(len(part), math.nan)
    return part / total


# --- summary -----------------------------------------------------------------------------------
def segment_summary(
    customers: pd.DataFrame, *, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per segment: customer count and share, revenue and share, mean and median R, F and M.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with ``segment``, ``recency``, ``frequency``, ``monetary`` and
        optionally ``revenue`` (revenue is the sum of ``revenue`` when present, else of
        ``monetary``).
    order : sequence of str or None, default=None
        All segment names in row order, usually ``segment_map.segment_names`` (rules, then the
        fallback); segments without customers are kept as rows with 0 customers. Without it a
        categorical ``segment`` column (as returned by :func:`assign_segments`) gives the order;
        otherwise segments are sorted by customers, descending, then name.

    Returns
    -------
    summary : pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per segment; shares are fractions of the total
        (0..1, NaN when the total is 0); means and medians are NaN for empty segments.
    """
    required = (schema.SEGMENT, *schema.METRIC_COLUMNS)
    missing = [c for c in required if c not in customers.columns]
    if missing:
        raise SchemaError(
            f"Missing column(s) {', '.join(map(repr, missing))} for the segment summary. "
            f"Columns found: {', '.join(map(repr, map(str, customers.columns)))}."
        )
    segment = customers[schema.SEGMENT]
    if order is not None:
        if isinstance(order, str) or len(set(order)) != len(order):
            raise InputError(
                "order must be a sequence of distinct segment names, e.g. "
                "segment_map.segment_names."
            )
        order = list(order)
    elif isinstance(segment.dtype, pd.CategoricalDtype):
        order = list(segment.cat.categories)
    else:
        counts = segment.value_counts()
        order = sorted(counts.index, key=lambda name: (-counts[name], str(name)))
    # Position of each customer's segment in ``order`` (-1: not there, or missing): the
    # distinct names first (a fast hash pass), then a lookup among those few.
    found, names = pd.factorize(segment)
    codes = np.append(pd.Index(order).get_indexer(names), -1)[found]
    stray = segment[codes < 0]
    if len(stray):
        found = sorted(map(str, stray.dropna().unique()))[:5]
        found += ["missing values"] if stray.isna().any() else []
        raise InputError(
            f"The segment column has values not among the segments "
            f"{', '.join(map(repr, order))}: {', '.join(found)}. "
            "Summarise with the segment names of the map that assigned the segments."
        )
    revenue_source = schema.REVENUE if schema.REVENUE in customers.columns else schema.MONETARY
    frame = pd.DataFrame(
        {
            "key": pd.Categorical.from_codes(codes, categories=order),
            "revenue": customers[revenue_source].to_numpy(dtype="float64"),
            **{m: customers[m].to_numpy(dtype="float64") for m in schema.METRIC_COLUMNS},
        }
    )
    grouped = frame.groupby("key", observed=False, sort=True)
    n_customers = grouped.size().to_numpy(dtype="int64")
    revenue = grouped["revenue"].sum().to_numpy(dtype="float64")
    total_customers = n_customers.sum()
    total_revenue = revenue.sum()
    out: dict[str, Any] = {
        schema.SEGMENT: order,
        "customers": n_customers,
        "customer_share": _share(n_customers, total_customers),
        "revenue": revenue,
        "revenue_share": _share(revenue, total_revenue),
    }
    for metric in schema.METRIC_COLUMNS:
        out[f"{metric}_mean"] = grouped[metric].mean().to_numpy(dtype="float64")
        out[f"{metric}_median"] = grouped[metric].median().to_numpy(dtype="float64")
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
