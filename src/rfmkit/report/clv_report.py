"""The CLV report (``rfmkit clv``'s report.html): value per segment, P(alive), and how well the
models track the holdout. Self-contained like the main report: inline CSS and SVG charts, every
user text autoescaped by Jinja2.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from rfmkit._version import __version__
from rfmkit.clv import bg_nbd, gamma_gamma
from rfmkit.money import money_text, resolve_currency
from rfmkit.report.charts.style import BLUE, GREY, INK, ORANGE
from rfmkit.report.charts.svg import figure_svg
from rfmkit.report.render import fmt_int, fmt_money, fmt_num, fmt_pct

#: Segments whose customers are valuable but slipping: the value at stake.
AT_STAKE = ("At Risk", "Can't Lose Them", "Cannot Lose Them")


def _segment_value_chart(groups: pd.DataFrame, money_in: dict[str, str] | None) -> str:
    rows = groups[groups["grouping"] == "segment"].sort_values("total_clv")
    fig = Figure(figsize=(10.5, 0.9 + 0.32 * len(rows)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    left.barh(rows["group"], rows["total_clv"], color=BLUE)
    left.set_title("Total CLV per segment")
    right.barh(rows["group"], rows["mean_clv"], color=ORANGE)
    right.set_title("Mean CLV per customer")
    for ax in (left, right):  # £700k, not 700000
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: money_text(v, money_in, compact=bool(v), whole=not v)))  # £0, £100k
    return figure_svg(fig, "clv-segments", title="CLV per segment")


def _p_alive_chart(customers: pd.DataFrame) -> str:
    names = (customers.groupby("segment")["clv"].sum().sort_values().index.tolist())
    fig = Figure(figsize=(10.5, 0.9 + 0.32 * len(names)), layout="constrained")
    ax = fig.subplots()
    ax.boxplot([customers.loc[customers["segment"] == n, "p_alive"] for n in names],
               orientation="horizontal", tick_labels=names, showfliers=False, widths=0.6)
    ax.set_xlim(0, 1)
    ax.set_title("P(alive) per segment")
    ax.set_xlabel("probability that the customer is still active")
    return figure_svg(fig, "clv-p-alive", title="P(alive) per segment")


def _tracking_chart(tracking: pd.DataFrame, unit: str) -> str:
    fig = Figure(figsize=(10.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(tracking["time"], tracking["actual"], color=INK, label="actual")
    ax.plot(tracking["time"], tracking["expected"], color=ORANGE, linestyle="--",
            label="BG/NBD")
    if tracking["holdout"].any():
        ax.axvline(tracking.loc[tracking["holdout"], "time"].min() - 0.5, color=GREY,
                   linestyle=":", linewidth=1)
    ax.set_title("Cumulative repeat purchases: actual against the model")
    ax.set_xlabel(f"{unit}s since the cohort's first purchase")
    ax.legend(loc="upper left")
    return figure_svg(fig, "clv-tracking", title="Tracking plot")



def _by_frequency_chart(customers: pd.DataFrame) -> str:
    level = np.minimum(customers["frequency"], 7)
    grouped = customers.groupby(level)
    fig = Figure(figsize=(5.3, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(grouped["actual_purchases"].mean().index, grouped["actual_purchases"].mean(),
            color=INK, marker="o", label="actual")
    ax.plot(grouped["expected_purchases"].mean().index, grouped["expected_purchases"].mean(),
            color=ORANGE, marker="s", linestyle="--", label="BG/NBD")
    ax.set_xticks(range(8), [*map(str, range(7)), "7+"])
    ax.set_title("Holdout purchases per customer")
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.legend(loc="upper left")
    return figure_svg(fig, "clv-by-frequency", title="Holdout purchases by frequency")


def _parameter(value: float) -> str:
    """A fitted parameter to four significant digits: a = 1e-06 must not read 0.00."""
    return f"{value:,.4g}" if 1e-3 <= abs(value) < 1e6 else f"{value:.3g}"


def clv_report_html(model: Any, customers: pd.DataFrame, groups: pd.DataFrame, *,
                    title: str | None = None, currency: str | None = None) -> str:
    """The report as one HTML document; money in ``currency`` (the RFM model's) if given."""
    money_in = resolve_currency(currency, owner="run_clv")
    notes = (bg_nbd.no_dropout_note(model.bg_nbd_.params),
             gamma_gamma.dependence_note(model.spend_frequency_correlation_))
    warnings = [note for note in notes if note is not None]
    charts = []
    if "segment" in customers:
        charts.append(("Value per segment", _segment_value_chart(groups, money_in)))
        charts.append(("P(alive) per segment", _p_alive_chart(customers)))
    charts.append(("Tracking", _tracking_chart(model.tracking(), model.time_unit)))
    if "actual_purchases" in customers:
        charts.append(("Holdout by frequency", _by_frequency_chart(customers)))
    stake = None
    if "segment" in customers:
        slipping = customers[customers["segment"].isin(AT_STAKE)]
        stake = {"customers": len(slipping), "clv": float(slipping["clv"].sum()),
                 "share": float(slipping["clv"].sum() / customers["clv"].sum())
                 if customers["clv"].sum() else 0.0}
    env = jinja2.Environment(loader=jinja2.PackageLoader("rfmkit.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(int=fmt_int, money=lambda v: fmt_money(v, money_in), num=fmt_num,
                       pct=fmt_pct, param=_parameter)
    css = resources.files("rfmkit.report.templates").joinpath("report.css").read_text("utf-8")
    return env.get_template("clv.html").render(
        title=title or "Customer lifetime value", version=__version__, css=Markup(css),
        bg=model.bg_nbd_, gg=model.gamma_gamma_, model=model, stake=stake, warnings=warnings,
        groups=groups.to_dict("records"),
        charts=[(name, Markup(svg)) for name, svg in charts])
