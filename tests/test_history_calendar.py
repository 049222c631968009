"""The as-of dates of a history (rfmkit.timeline.calendar)."""

from __future__ import annotations

import datetime as dt

import pytest

import rfmkit
from rfmkit.timeline.calendar import history_dates, period_end, period_ends

D = dt.date


def test_month_ends_end_on_the_end_date_itself():
    assert period_ends("month", D(2011, 7, 1), D(2011, 12, 9)) == [
        D(2011, 7, 31), D(2011, 8, 31), D(2011, 9, 30), D(2011, 10, 31), D(2011, 11, 30),
        D(2011, 12, 9)]
    assert period_ends("month", D(2024, 1, 31), D(2024, 2, 29)) == [D(2024, 1, 31),
                                                                    D(2024, 2, 29)]


def test_quarter_and_week_ends():
    assert period_ends("quarter", D(2011, 2, 1), D(2011, 12, 31)) == [
        D(2011, 3, 31), D(2011, 6, 30), D(2011, 9, 30), D(2011, 12, 31)]
    assert period_ends("week", D(2024, 1, 1), D(2024, 1, 17)) == [
        D(2024, 1, 7), D(2024, 1, 14), D(2024, 1, 17)]
    assert period_end(D(2024, 1, 7), "week") == D(2024, 1, 7)  # a Sunday ends its own week


def test_defaults_start_after_the_models_date_and_end_on_the_latest_purchase():
    dates = history_dates(every="month", as_of=None, start=None, end=None,
                          model_as_of=D(2011, 6, 30), first_day=D(2010, 12, 1),
                          last_day=D(2011, 12, 9))
    assert dates[0] == D(2011, 7, 31) and dates[-1] == D(2011, 12, 9) and len(dates) == 6
    no_model_date = history_dates(every="quarter", as_of=None, start=None, end=None,
                                  model_as_of=None, first_day=D(2010, 12, 1),
                                  last_day=D(2011, 3, 31))
    assert no_model_date == [D(2010, 12, 31), D(2011, 3, 31)]


def test_explicit_dates_are_sorted_and_distinct():
    assert history_dates(every=None, as_of=["2011-12-09", D(2011, 9, 30), "2011-12-09"],
                         start=None, end=None, model_as_of=None, first_day=None,
                         last_day=None) == [D(2011, 9, 30), D(2011, 12, 9)]


@pytest.mark.parametrize("kwargs, message", [
    ({"every": "month", "as_of": ["2011-01-01"]}, "not both"),
    ({"every": None, "as_of": None}, "not neither"),
    ({"every": "year", "as_of": None}, "Unknown every='year'"),
    ({"every": "month", "as_of": None, "start": "2011-13-01"}, "start='2011-13-01' is not"),
    ({"every": "month", "as_of": None, "start": "2012-01-01"}, "ends before it starts"),
    ({"every": None, "as_of": ["2011-01-01"], "end": "2011-02-01"}, "leave them out"),
])
def test_bad_dates_name_the_parameter(kwargs, message):
    base = {"start": None, "end": None, "model_as_of": None, "first_day": D(2011, 1, 1),
            "last_day": D(2011, 12, 9)}
    with pytest.raises(rfmkit.ParameterError, match=message):
        history_dates(**{**base, **kwargs})


def test_a_model_fitted_on_all_the_data_asks_for_a_start():
    with pytest.raises(rfmkit.ParameterError, match="no date after the model's. Give start="):
        history_dates(every="month", as_of=None, start=None, end=None,
                      model_as_of=D(2011, 12, 9), first_day=D(2010, 12, 1),
                      last_day=D(2011, 12, 9))
