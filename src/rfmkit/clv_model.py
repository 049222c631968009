"""CLVModel: customer lifetime value and P(alive) from transactions, scikit-learn style.

``fit`` summarises the transactions into purchase events inside the engine
(:func:`rfmkit.purchase_events.purchase_events`), then fits BG/NBD (how often, and whether still
a customer) and Gamma-Gamma (how much per purchase) by maximum likelihood in numpy/scipy. The
fitted parameters are learned once; ``predict`` applies them to any data's summary.
"""

from __future__ import annotations

import datetime as dt
import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator

from rfmkit._validation import Interval, Options, validate_params
from rfmkit.clv import bg_nbd, gamma_gamma
from rfmkit.clv.value import DAYS_PER_UNIT, customer_values
from rfmkit.errors import InputError, ParameterError, RFMKitWarning
from rfmkit.metric_options import MetricOptions
from rfmkit.progress import stage
from rfmkit.purchase_events import purchase_events
from rfmkit.schema import ColumnMapping

#: Fewest repeat buyers the spend model is fitted on: three parameters need a sample.
MIN_REPEAT_BUYERS = 20


class CLVDependenceWarning(RFMKitWarning):
    """Frequency and spend per purchase are correlated: Gamma-Gamma assumes they are not."""


class CLVBoundaryWarning(RFMKitWarning):
    """BG/NBD finds no dropout: its fit is a limit case, and P(alive) is 1 for everyone."""


def _date(value: Any, name: str) -> dt.date | None:
    if value is None:
        return None
    parsed = MetricOptions(as_of=value).as_of  # a date, datetime or ISO text; checked
    if parsed is None:
        raise ParameterError(f"{name}= needs a date such as '1997-09-30'; got {value!r}.")
    return parsed


class CLVModel(BaseEstimator):
    """BG/NBD + Gamma-Gamma customer lifetime value.

    Parameters
    ----------
    calibration_end : date or ISO text
        The models see purchases on or before this day; customers are those with one.
    holdout_end : date or ISO text, optional
        Also count each customer's purchases after ``calibration_end`` up to this day, to set
        predicted against actual.
    time_unit : {"week", "day", "month"}
        The unit of recency, T and the horizon (a week is 7 days, a month 365.25/12).
    horizon : float, optional
        Length of the prediction, in ``time_unit``; default: the holdout's length, else 52
        weeks' worth.
    discount_rate : float
        Annual discount rate of the lifetime value (0.1 = 10% a year).
    columns : ColumnMapping, optional
        Input columns; detected from common names when left out.
    date_format : str, optional
        strptime format of text dates.
    date_order : {"dayfirst", "monthfirst"}, optional
        How to read ambiguous text dates such as 01/02/2023 (default: the values decide).
    """

    _parameter_constraints: dict = {
        "calibration_end": [str, dt.date],
        "holdout_end": [None, str, dt.date],
        "time_unit": [Options(*DAYS_PER_UNIT)],
        "horizon": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "discount_rate": [Interval(numbers.Real, 0, 10, closed="left")],
        "columns": [None, ColumnMapping],
        "date_format": [None, str],
        "date_order": [None, Options("dayfirst", "monthfirst")],
    }

    def __init__(self, calibration_end: dt.date | str | None = None, *,
                 holdout_end: dt.date | str | None = None, time_unit: str = "week",
                 horizon: float | None = None, discount_rate: float = 0.0,
                 columns: ColumnMapping | None = None, date_format: str | None = None,
                 date_order: str | None = None):
        self.calibration_end = calibration_end
        self.holdout_end = holdout_end
        self.time_unit = time_unit
        self.horizon = horizon
        self.discount_rate = discount_rate
        self.columns = columns
        self.date_format = date_format
        self.date_order = date_order

    # --- parameters -------------------------------------------------------------------------------
    def _checked(self) -> tuple[dt.date, dt.date | None, float]:
        if self.calibration_end is None:
            raise ParameterError("CLVModel needs calibration_end= (the last day the models see), "
                                 "e.g. calibration_end='1997-09-30'.")
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_constraints)
        cal = _date(self.calibration_end, "calibration_end")
        hold = _date(self.holdout_end, "holdout_end")
        if hold is not None and hold <= cal:
            raise ParameterError(f"holdout_end={hold.isoformat()} must be after calibration_end="
                                 f"{cal.isoformat()}.")
        unit = DAYS_PER_UNIT[self.time_unit]
        if self.horizon is not None:
            horizon = float(self.horizon)
        elif hold is not None:
            horizon = (hold - cal).days / unit
        else:
            horizon = 364 / unit
        return cal, hold, horizon

    # --- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, engine: Any = "duckdb", table: str | None = None,
            delimiter: str | None = None, encoding: str | None = None,
            decimal: str | None = None, thousands: str | None = None) -> CLVModel:
        """Summarise ``X`` (transactions) in the engine and fit both models. ``decimal`` and
        ``thousands``: how its text amounts are written, as in pandas' ``read_csv``."""
        cal, hold, horizon = self._checked()
        stage("Reading purchases")
        events, label, daily = purchase_events(
            X, calibration_end=cal, holdout_end=hold, columns=self.columns,
            date_format=self.date_format, date_order=self.date_order, engine=engine,
            table=table, delimiter=delimiter, encoding=encoding, decimal=decimal,
            thousands=thousands, tracking=True)
        summary = self.summarise(events, cal)
        repeat = summary[summary["frequency"] > 0]
        if len(repeat) < MIN_REPEAT_BUYERS:
            raise InputError(
                f"Only {len(repeat)} customers of {label} bought again on or before "
                f"{cal.isoformat()}; the spend model needs at least {MIN_REPEAT_BUYERS} repeat "
                "buyers. Choose a later calibration_end or use more data.")
        x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        stage("Fitting BG/NBD")
        self.bg_nbd_ = bg_nbd.fit(x, t_x, T)
        stage("Fitting Gamma-Gamma")
        self.gamma_gamma_ = gamma_gamma.fit(repeat["frequency"].to_numpy(float),
                                            repeat["monetary_value"].to_numpy(float))
        rho = float(spearmanr(repeat["frequency"], repeat["monetary_value"]).statistic)
        self.spend_frequency_correlation_ = rho
        for note, category in ((bg_nbd.no_dropout_note(self.bg_nbd_.params), CLVBoundaryWarning),
                               (gamma_gamma.dependence_note(rho), CLVDependenceWarning)):
            if note is not None:
                warnings.warn(category(f"{label}: {note}"), stacklevel=2)
        self.calibration_end_, self.holdout_end_, self.horizon_ = cal, hold, horizon
        self.n_customers_, self.n_repeat_buyers_ = len(summary), len(repeat)
        self.customers_ = self._values(summary, horizon)
        self.repeat_purchases_by_day_ = daily
        return self

    def summarise(self, events: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
        """Purchase events -> frequency, recency, T and monetary_value in the time unit."""
        unit = DAYS_PER_UNIT[self.time_unit]
        end = pd.Timestamp(as_of)
        out = pd.DataFrame({"customer_id": events["customer_id"]})
        out["frequency"] = events["events"].to_numpy(np.int64) - 1
        out["recency"] = (events["last_day"] - events["first_day"]).dt.days / unit
        out["T"] = (end - events["first_day"]).dt.days / unit
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = events["repeat_spend"].to_numpy(float) / out["frequency"].to_numpy(float)
        out["monetary_value"] = np.where(out["frequency"] > 0, mean, 0.0)
        for extra in ("holdout_events", "holdout_spend"):
            if extra in events:
                name = "actual_purchases" if extra == "holdout_events" else "actual_spend"
                out[name] = events[extra].to_numpy()
        return out

    def _values(self, summary: pd.DataFrame, horizon: float) -> pd.DataFrame:
        return customer_values(summary, self.bg_nbd_params_, self.gamma_gamma_params_,
                               horizon=horizon, time_unit=self.time_unit,
                               discount_rate=float(self.discount_rate))

    @property
    def bg_nbd_params_(self) -> tuple[float, ...]:
        return tuple(self.bg_nbd_.params[n] for n in bg_nbd.PARAMETERS)

    @property
    def gamma_gamma_params_(self) -> tuple[float, ...]:
        return tuple(self.gamma_gamma_.params[n] for n in gamma_gamma.PARAMETERS)

    # --- saved state (the "clv" block of model.json) ---------------------------------------------
    STATE_VERSION = 1

    def to_state(self) -> dict:
        """The fitted models as plain JSON-able data: parameters, settings and fit figures."""
        return {
            "state_version": self.STATE_VERSION,
            "params": {"time_unit": self.time_unit, "discount_rate": float(self.discount_rate),
                       "horizon": self.horizon_, "date_format": self.date_format,
                       "date_order": self.date_order,
                       "columns": None if self.columns is None else self.columns.to_dict()},
            "calibration_end": self.calibration_end_.isoformat(),
            "holdout_end": None if self.holdout_end_ is None else self.holdout_end_.isoformat(),
            "bg_nbd": {**self.bg_nbd_.params, "log_likelihood": self.bg_nbd_.log_likelihood},
            "gamma_gamma": {**self.gamma_gamma_.params,
                            "log_likelihood": self.gamma_gamma_.log_likelihood},
            "customers": self.n_customers_, "repeat_buyers": self.n_repeat_buyers_,
        }

    @classmethod
    def from_state(cls, state: dict) -> CLVModel:
        """Rebuild a fitted model from :meth:`to_state` (validated; never runs code)."""
        from rfmkit.clv.fitting import Fit

        if state.get("state_version") != cls.STATE_VERSION:
            raise ValueError(f"unknown CLV state version {state.get('state_version')!r}")
        params = state["params"]
        columns = params.get("columns")
        model = cls(state["calibration_end"], holdout_end=state["holdout_end"],
                    time_unit=params["time_unit"], horizon=params["horizon"],
                    discount_rate=params["discount_rate"],
                    columns=None if columns is None else ColumnMapping.from_dict(columns),
                    date_format=params.get("date_format"),
                    date_order=params.get("date_order"))
        cal, hold, horizon = model._checked()
        fits = {}
        for name, names in (("bg_nbd", bg_nbd.PARAMETERS), ("gamma_gamma", gamma_gamma.PARAMETERS)):
            block = state[name]
            values = {n: float(block[n]) for n in names}
            if not all(np.isfinite(v) and v > 0 for v in values.values()):
                raise ValueError(f"{name} parameters must be positive numbers")
            fits[name] = Fit(values, dict.fromkeys(names, float("nan")),
                             float(block["log_likelihood"]), True)
        model.bg_nbd_, model.gamma_gamma_ = fits["bg_nbd"], fits["gamma_gamma"]
        model.calibration_end_, model.holdout_end_, model.horizon_ = cal, hold, horizon
        model.n_customers_ = int(state["customers"])
        model.n_repeat_buyers_ = int(state["repeat_buyers"])
        return model

    # --- prediction -------------------------------------------------------------------------------
    def predict(self, X: Any, *, as_of: dt.date | str | None = None, engine: Any = "duckdb",
                table: str | None = None, delimiter: str | None = None,
                encoding: str | None = None, decimal: str | None = None,
                thousands: str | None = None) -> pd.DataFrame:
        """Per-customer P(alive), expected purchases, spend and CLV on ``X`` at ``as_of``
        (default: the calibration end), with the fitted parameters."""
        if not hasattr(self, "bg_nbd_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This CLVModel is not fitted yet; call fit first.")
        day = _date(as_of, "as_of") or self.calibration_end_
        events, _, _ = purchase_events(
            X, calibration_end=day, columns=self.columns, date_format=self.date_format,
            date_order=self.date_order, engine=engine, table=table, delimiter=delimiter,
            encoding=encoding, decimal=decimal, thousands=thousands)
        return self._values(self.summarise(events, day), self.horizon_)

    def expected_repeat_purchases(self, times: np.ndarray) -> np.ndarray:
        """Cumulative expected repeat purchases of the calibration customers at each time (in
        the time unit, from the first customer's first purchase): the paper's tracking plot."""
        summary = self.customers_
        start = summary["T"].max()
        birth = start - summary["T"].to_numpy(float)  # each customer's first purchase
        out = []
        for t in np.asarray(times, dtype=float):
            alive_for = np.clip(t - birth, 0, None)
            out.append(float(np.sum(bg_nbd.expected_purchases(self.bg_nbd_params_,
                                                              alive_for))))
        return np.array(out)

    def tracking(self) -> pd.DataFrame:
        """Cumulative repeat purchases per time unit since the cohort's first purchase,
        actual against expected (the paper's Figure 2), up to the holdout end."""
        unit = DAYS_PER_UNIT[self.time_unit]
        start = pd.Timestamp(self.calibration_end_) - pd.Timedelta(
            days=float(self.customers_["T"].max()) * unit)
        end = pd.Timestamp(self.holdout_end_ or self.calibration_end_)
        # Unit k covers the days [k-1, k) units after the start, as in the paper's weekly
        # series: CDNOW's 546 days are weeks 1..78, week 39 ending on the calibration end.
        # A last, partial unit ends with the end day.
        days = (end - start).days + 1
        steps = np.arange(1, int(np.ceil(days / unit)) + 1, dtype=float)
        steps[-1] = min(steps[-1], days / unit)
        daily = self.repeat_purchases_by_day_
        elapsed = (daily["day"] - start).dt.days.to_numpy(float) / unit
        actual = [int(daily["repeats"][elapsed < s].sum()) for s in steps]
        return pd.DataFrame({"time": steps, "actual": actual,
                             "expected": self.expected_repeat_purchases(steps),
                             # a unit holding a day after the calibration end
                             "holdout": steps * unit > (pd.Timestamp(self.calibration_end_)
                                                        - start).days + 1})

