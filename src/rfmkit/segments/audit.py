"""The coverage check of a segment map: which rule wins each cell, gaps, overlaps, dead rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SegmentAudit"]

Cell = tuple[int, ...]


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

