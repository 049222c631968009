"""Segment maps from files and package data: the built-in maps and YAML/JSON map files.

Built-in maps are package data (``rfmkit/segments/builtin/*.yaml``); see
:func:`builtin_segment_maps`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import yaml

from rfmkit.errors import SegmentMapError
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import SegmentRule

__all__ = ["DEFAULT_SEGMENT_MAP", "NO_SEGMENTS", "builtin_segment_maps", "load_segment_map"]

#: Name of the built-in map used when none is chosen.
DEFAULT_SEGMENT_MAP = "rfm-grid-11"
#: ``segment_map="none"``: no segmentation, every customer in one segment (scores and clusters
#: only), so any score scale works and every output keeps its columns.
NO_SEGMENTS = "none"
ALL_CUSTOMERS = "All customers"


def _no_segments() -> SegmentMap:
    return SegmentMap(
        name=NO_SEGMENTS, levels=5, fallback=None,
        description="No segments: every customer is in one group (segment_map='none').",
        rules=[SegmentRule(ALL_CUSTOMERS, description="Every customer; no rule segments.")])

_MAPS_PACKAGE = "rfmkit.segments.builtin"
_MAP_SUFFIXES = (".yaml", ".yml", ".json")


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
        A name from :func:`builtin_segment_maps`, ``"none"`` (no segments: one segment, "All
        customers"), or a file path. A :class:`SegmentMap` is
        returned unchanged. YAML is read with ``yaml.safe_load``. A file without a ``name`` key
        is named after the file.

    Raises
    ------
    rfmkit.errors.SegmentMapError
        Unknown name, missing or unreadable file, or an invalid map; the message names the file.
    """
    if isinstance(name_or_path, SegmentMap):
        return name_or_path
    if name_or_path == NO_SEGMENTS:
        return _no_segments()
    builtins = builtin_segment_maps()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        text = resources.files(_MAPS_PACKAGE).joinpath(f"{name_or_path}.yaml").read_text(
            encoding="utf-8"
        )
        return SegmentMap.from_dict(yaml.safe_load(text), source=f"built-in map {name_or_path!r}")
    path = Path(name_or_path)
    if not path.is_file():
        raise SegmentMapError(
            f"{str(name_or_path)!r} is neither a built-in segment map ({', '.join(builtins)}), "
            f"{NO_SEGMENTS!r} (no segments) nor an existing file. Give a built-in name or the "
            "path of a .yaml or .json map (format: docs/segment-maps.md)."
        )
    suffix = path.suffix.lower()
    if suffix not in _MAP_SUFFIXES:
        raise SegmentMapError(
            f"Segment map file {str(path)!r} has the suffix {path.suffix!r}; use .yaml, .yml "
            "or .json."
        )
    try:
        # utf-8-sig: a byte-order mark an editor added is not an error
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SegmentMapError(
            f"Segment map file {str(path)!r} is not UTF-8 text (byte "
            f"{exc.object[exc.start]:#04x} at position {exc.start} cannot be decoded as "
            "UTF-8). Save it as UTF-8."
        ) from None
    except OSError as exc:
        raise SegmentMapError(f"Cannot read segment map file {str(path)!r}: {exc}.") from exc
    kind = "JSON" if suffix == ".json" else "YAML"
    try:
        # safe_load builds only plain data: tags such as !!python/object are refused
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise SegmentMapError(
            f"Segment map file {str(path)!r} is not valid {kind}: {detail}"
        ) from exc
    except RecursionError:
        # both parsers recurse once per level: a hostile file of [[[[...]]]] ends here
        raise SegmentMapError(
            f"Segment map file {str(path)!r} is nested too deeply to be a segment map "
            f"(thousands of levels of {kind} lists or mappings); a map has three or four."
        ) from None
    if isinstance(data, dict) and "name" not in data:
        data = {"name": path.stem, **data}
    return SegmentMap.from_dict(data, source=f"segment map file {str(path)!r}")

