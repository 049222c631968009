"""Excel workbooks as Arrow tables, read with python-calamine (DuckDB's Excel support is an
extension that locked-down hosts cannot download)."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from rfmkit.errors import InputError, RFMKitWarning


def read_excel(path: str, *, sheet: str | None = None):
    """Read one sheet of a workbook into an Arrow table (first row = header)."""
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(path)
    except Exception as exc:  # calamine raises its own error types
        raise InputError(f"Could not read workbook {path}: {exc}.") from None
    names = book.sheet_names
    listed = ", ".join(repr(n) for n in names)
    if sheet is None:
        sheet = names[0]
        if len(names) > 1:
            # a workbook's other sheets are often more data (a year each): say what was read,
            # before any error about this sheet's contents, so that the fix is at hand
            warnings.warn(RFMKitWarning(
                f"{path} has {len(names)} sheets ({listed}); only the first, {sheet!r}, is "
                f"read. Read another with table=NAME, e.g. table={names[1]!r}."), stacklevel=5)
    elif sheet not in names:
        raise InputError(f"Sheet {sheet!r} is not in {path}. Its sheets: {listed}; pick one "
                         "with table=NAME.")
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=True)
    if not rows:
        others = "" if len(names) == 1 else (
            f" The workbook's sheets: {listed}; pick one with table=NAME.")
        raise InputError(f"Sheet {sheet!r} of {path} is empty.{others}")
    header = _unique_names([str(h).strip() or f"column{i + 1}" for i, h in enumerate(rows[0])])
    data = rows[1:]
    arrays = {}
    for i, name in enumerate(header):
        values = [None if (i >= len(r) or r[i] == "") else r[i] for r in data]
        arrays[name] = _excel_column(values)
    return pa.table(arrays)


def _unique_names(names: list[str]) -> list[str]:
    """Repeated headers as DuckDB's CSV reader names them (amount, amount_1, ...): a dict keyed
    by name would keep only the last of them."""
    seen: set[str] = set()
    out = []
    for name in names:
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        out.append(unique)
    return out


def _excel_column(values: list):
    """Excel cells are loosely typed: keep one type per column, else fall back to text."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    types = {type(v) for v in present}
    if types <= {int, float, bool} and bool not in types:
        if types == {int}:
            return pa.array(values, type=pa.int64())
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if types and all(issubclass(t, (dt.datetime, dt.date)) for t in types):
        return pa.array([None if v is None else (
            v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day))
            for v in values], type=pa.timestamp("us"))
    return pa.array([None if v is None else _cell_text(v) for v in values], type=pa.string())


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
