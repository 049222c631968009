"""Which as-of dates a history has: month, quarter or week ends between two dates.

A period end is the last day of a calendar month or quarter, or a Sunday (ISO weeks end on
Sunday). The dates run from ``start`` to ``end``; the last one falls on ``end`` itself when
``end`` is not a period end, so the newest purchases always have a snapshot.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable

from rfmkit.errors import ParameterError
from rfmkit.metric_options import MetricOptions

EVERY = ("month", "quarter", "week")


def as_date(value: dt.date | str, name: str) -> dt.date:
    """A date parameter given as a date or an ISO text (the message names ``name=``)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return MetricOptions(as_of=value).as_of
        except ParameterError:
            raise ParameterError(
                f"{name}={value!r} is not a date. Write it as YYYY-MM-DD, e.g. 2011-12-09."
            ) from None
    raise ParameterError(f"{name}= must be a date or YYYY-MM-DD text. Got {value!r} instead.")


def period_end(day: dt.date, every: str) -> dt.date:
    """The end of the period (month, quarter or week) holding ``day``."""
    if every == "week":
        return day + dt.timedelta(days=6 - day.weekday())
    month = day.month if every == "month" else 3 * ((day.month - 1) // 3) + 3
    return dt.date(day.year, month, _calendar.monthrange(day.year, month)[1])


def period_ends(every: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """Period ends from ``start`` (the first one on or after it) to ``end``, plus ``end``
    itself when it is not a period end."""
    if every not in EVERY:
        raise ParameterError(
            f"Unknown every={every!r}. Choose one of: {', '.join(EVERY)}.")
    if end < start:
        raise ParameterError(
            f"The history ends before it starts: start={start.isoformat()} is after "
            f"end={end.isoformat()}. Give an end on or after the start.")
    dates = []
    day = period_end(start, every)
    while day <= end:
        dates.append(day)
        day = period_end(day + dt.timedelta(days=1), every)
    if not dates or dates[-1] != end:
        dates.append(end)
    return dates


def history_dates(*, every: str | None, as_of: Iterable[dt.date | str] | None,
                  start: dt.date | str | None, end: dt.date | str | None,
                  model_as_of: dt.date | None, first_day: dt.date | None,
                  last_day: dt.date | None) -> list[dt.date]:
    """The as-of dates of a history, ascending and distinct.

    ``every`` (with ``start``/``end``) or an explicit list ``as_of``, not both. ``start``
    defaults to the first period end after the model's as-of date, else the data's first
    period end; ``end`` to the latest purchase day.
    """
    given = list(as_of) if as_of is not None else []
    if (every is None) == (not given):
        raise ParameterError(
            "Give either every= (month, quarter or week; with start= and end=) or a list of "
            "as_of= dates, not both and not neither.")
    if given:
        if start is not None or end is not None:
            raise ParameterError(
                "start= and end= bound the dates that every= generates; with as_of= dates "
                "leave them out.")
        return sorted({as_date(d, "as_of") for d in given})
    if end is None:
        if last_day is None:
            raise ParameterError("The input has no purchases, so end= has no default; give it.")
        end = last_day
    end = as_date(end, "end")
    if start is None:
        if model_as_of is not None:
            start = model_as_of + dt.timedelta(days=1)
            if start > end:
                raise ParameterError(
                    f"The model was fitted on data up to {model_as_of.isoformat()} and the "
                    f"history would end on {end.isoformat()}: no date after the model's. Give "
                    "start= (an earlier first date), or newer transactions.")
        elif first_day is not None:
            start = first_day
        else:
            raise ParameterError("The input has no purchases, so start= has no default; "
                                 "give it.")
    return period_ends(every, as_date(start, "start"), end)


def check_history_dates(*, every: str | None, as_of: Iterable[dt.date | str] | None,
                        start: dt.date | str | None, end: dt.date | str | None) -> None:
    """The date parameters checked before any data is read (only the defaults need data)."""
    if every is None:
        history_dates(every=None, as_of=as_of, start=start, end=end, model_as_of=None,
                      first_day=None, last_day=None)
        return
    first = as_date(start, "start") if start is not None else None
    last = as_date(end, "end") if end is not None else None
    day = first or last or dt.date(2000, 1, 1)
    history_dates(every=every, as_of=as_of, start=day, end=last or day, model_as_of=None,
                  first_day=day, last_day=day)
