"""``rfmkit history`` as Python: snapshots over time, transitions and movers, written at once.

:func:`history` returns the snapshots; :func:`run_history` also writes ``snapshots.parquet``,
``transitions.csv``, ``movers.csv`` and ``report.html`` into a folder, all or nothing, and
optionally the ``rfm_snapshots`` table of a database. With ``append=True`` only the dates the
folder does not hold yet are computed; the old snapshots are read back, never recomputed.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rfmkit.atomic_files import InBackground, check_out_dir, write_files
from rfmkit.errors import ParameterError, SegmentOrderWarning
from rfmkit.jobs import _as_model, _open_engine, _reports
from rfmkit.model import RFMModel
from rfmkit.progress import Progress, stage
from rfmkit.sql.snapshots_query import AS_OF
from rfmkit.timeline.calendar import check_history_dates, history_dates
from rfmkit.timeline.snapshots import compute_snapshots, empty_snapshots, open_transactions
from rfmkit.timeline.transitions import encode, movers, transitions

SNAPSHOTS_FILE = "snapshots.parquet"


@dataclass
class HistoryResult:
    """What :func:`run_history` produced."""

    snapshots: pd.DataFrame
    transitions: pd.DataFrame
    movers: pd.DataFrame
    written: list[Path]
    computed: list[dt.date] = field(default_factory=list)  # dates computed by this run
    destination: str | None = None
    seconds: float = 0.0
    out_dir: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The run in JSON types, for a scheduler (``rfmkit history --json``; docs/cli.md)."""
        sizes = self.snapshots.groupby(AS_OF).size()
        return {
            "snapshots": {pd.Timestamp(d).date().isoformat(): int(n) for d, n in sizes.items()},
            "computed": [d.isoformat() for d in self.computed], "movers": len(self.movers),
            "out": None if self.out_dir is None else str(self.out_dir),
            "files": [str(p) for p in self.written], "tables": self.destination,
            "seconds": round(self.seconds, 3),
        }


def history(source: Any, model: str | os.PathLike | RFMModel, *, every: str | None = None,
            as_of: Iterable[dt.date | str] | None = None, start: dt.date | str | None = None,
            end: dt.date | str | None = None, refit: bool = False, engine: str = "duckdb",
            engine_options: Mapping[str, Any] | None = None, table: str | None = None,
            delimiter: str | None = None, skip: Sequence[dt.date] = (),
            decimal: str | None = None, thousands: str | None = None) -> pd.DataFrame:
    """Score every customer of ``source`` at each as-of date with ``model``.

    Parameters
    ----------
    source
        Transactions, as for :func:`~rfmkit.run_score`.
    model : path or RFMModel
        A fitted model; its bin edges, segment map and clusters are frozen.
    every : {"month", "quarter", "week"} or None
        Period ends from ``start`` (default: the first one after the model's as-of date) to
        ``end`` (default: the latest purchase; the last snapshot falls on it).
    as_of : list of dates or None
        Explicit as-of dates instead of ``every``.
    refit : bool
        Re-learn bin edges and clusters at each date instead. Scores then mix population drift
        (the edges move) with customer behaviour: a customer can change segment without
        buying or not buying anything. Keep the default to compare dates.
    skip : dates
        Dates not to compute (already stored; ``append``).
    decimal, thousands : str or None
        How ``source`` writes text amounts (as in pandas' ``read_csv``), when not as the
        model's training data did.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``as_of``, ``recency``, ``frequency``, ``monetary``, ``r_score``,
        ``f_score``, ``m_score``, ``segment`` (and ``cluster``, ``cluster_name`` when the model
        has clusters); a customer appears at every date on or after their first purchase.
        ``attrs["monetary"]`` records the model's monetary definition (for transitions).
    """
    model = _as_model(model)
    if decimal is not None or thousands is not None:
        model = copy.copy(model)  # reads this input's numbers; the caller's model is unchanged
        model.metric_options_ = model.metric_options_.reading_numbers(decimal, thousands)
    if not isinstance(refit, bool):
        raise ParameterError(f"refit= must be True or False. Got {refit!r} instead.")
    check_history_dates(every=every, as_of=as_of, start=start, end=end)
    with _open_engine(engine, engine_options) as eng:
        stage("Computing the snapshots")
        rel, resolved = open_transactions(model, source, eng, table=table, delimiter=delimiter)
        chosen: list[dt.date] = []

        def choose(first: dt.date | None, last: dt.date | None) -> list[dt.date]:
            chosen.extend(history_dates(every=every, as_of=as_of, start=start, end=end,
                                        model_as_of=model.as_of_, first_day=first,
                                        last_day=last))
            return [d for d in chosen if d not in set(skip)]

        if every is None or (end is not None and (start is not None or model.as_of_)):
            todo = choose(None, None)  # the dates need no data
            snapshots = (compute_snapshots(model, eng, rel, resolved, todo, refit=refit)
                         if todo else empty_snapshots(model))
        else:
            snapshots = compute_snapshots(model, eng, rel, resolved, choose, refit=refit)
        dates = chosen
    snapshots.attrs["monetary"] = model.metric_options_.monetary
    snapshots.attrs["dates"] = [d.isoformat() for d in dates]
    return snapshots


def segment_value_order(model: RFMModel) -> tuple[str, ...]:
    """The model's segments, most valuable first: the map's ``value_order``, else (with a
    :class:`~rfmkit.errors.SegmentOrderWarning`) its rule order."""
    seg_map = model.segment_map_
    if seg_map.value_order:
        return tuple(seg_map.value_order)
    warnings.warn(
        f"Segment map {seg_map.name!r} declares no value_order, so movers.csv ranks its "
        "segments in rule order (first rule most valuable). Add value_order (every segment, "
        "most valuable first) to the map to say what 'down' means.",
        SegmentOrderWarning, stacklevel=3)
    return tuple(seg_map.segment_names)


@_reports
def run_history(source: Any, model: str | os.PathLike | RFMModel, out_dir: str | os.PathLike,
                *, every: str | None = None, as_of: Iterable[dt.date | str] | None = None,
                start: dt.date | str | None = None, end: dt.date | str | None = None,
                refit: bool = False, append: bool = False, target: str | None = None,
                engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
                table: str | None = None, delimiter: str | None = None, report: bool = True,
                decimal: str | None = None, thousands: str | None = None,
                progress: Progress | None = None) -> HistoryResult:
    """:func:`history`, then write ``out_dir/snapshots.parquet``, ``transitions.csv``,
    ``movers.csv`` and ``report.html`` all or nothing (and ``target``'s ``rfm_snapshots``
    table: ``duckdb:PATH`` or ``postgresql://...``).

    With ``append=True`` the snapshots already in ``out_dir`` are kept and only new dates are
    computed; a date already stored is not computed again, so appending twice leaves one copy.
    The folder decides which dates are new; the table receives those dates (its rows of the
    same dates replaced, in one transaction).
    """
    started = time.perf_counter()
    check_out_dir(out_dir)
    model = _as_model(model)
    if target is not None:
        from rfmkit.engines.snapshot_tables import stored_dates

        stored_dates(target)  # a bad destination fails before the work
    old = _stored(out_dir) if append else None
    skip = [] if old is None else sorted(pd.to_datetime(old[AS_OF]).dt.date.unique())
    new = history(source, model, every=every, as_of=as_of, start=start, end=end, refit=refit,
                  engine=engine, engine_options=engine_options, table=table,
                  delimiter=delimiter, skip=skip, decimal=decimal, thousands=thousands)
    computed = sorted(pd.to_datetime(new[AS_OF]).dt.date.unique())
    snapshots = new if old is None or old.empty else _combine(old, new)
    snapshots.attrs["monetary"] = model.metric_options_.monetary
    order = segment_value_order(model)
    coded = encode(snapshots)  # shared: millions of ids are factorised once
    moved = transitions(snapshots, coded=coded)
    down = movers(snapshots, order, coded=coded)
    files = {SNAPSHOTS_FILE: InBackground(lambda p: _write_parquet(snapshots, p)),
             "transitions.csv": lambda p: moved.to_csv(p, index=False),
             "movers.csv": lambda p: down.to_csv(p, index=False)}
    if report:
        from rfmkit.report.history import build_history_report
        from rfmkit.timeline.facts import history_facts

        def write_report(p: Path) -> None:
            page = build_history_report(history_facts(snapshots, moved, down, order,
                                                      coded=coded),
                                        segment_map=model.segment_map_.name, refit=refit,
                                        currency=model.params_.get("currency"))
            p.write_text(page, encoding="utf-8")

        files["report.html"] = write_report
    stage("Writing outputs")
    written = write_files(out_dir, files)
    destination = None
    if target is not None:
        from rfmkit.engines.snapshot_tables import write_snapshots

        destination = write_snapshots(target, new if append else snapshots, append=append)
    return HistoryResult(snapshots, moved, down, written, computed, destination,
                         time.perf_counter() - started, out_dir=Path(out_dir))


def _stored(out_dir: str | os.PathLike) -> pd.DataFrame | None:
    path = Path(out_dir) / SNAPSHOTS_FILE
    if not path.is_file():
        return None
    old = pd.read_parquet(path)
    old[AS_OF] = pd.to_datetime(old[AS_OF]).astype("datetime64[s]")
    return old


def _combine(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    if list(old.columns) != list(new.columns) and not new.empty:
        raise ParameterError(
            f"The stored {SNAPSHOTS_FILE} has the columns {list(old.columns)}, this model "
            f"gives {list(new.columns)}: append only with the model that wrote it, or write "
            "to a new folder.")
    if new.empty:
        return old
    both = pd.concat([old, new], ignore_index=True)
    order = both[AS_OF].argsort(kind="stable")
    return both.iloc[order].reset_index(drop=True)


def _write_parquet(snapshots: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(snapshots, preserve_index=False)
    index = table.schema.get_field_index(AS_OF)
    table = table.set_column(index, AS_OF, table.column(AS_OF).cast(pa.date32()))
    pq.write_table(table, path)
