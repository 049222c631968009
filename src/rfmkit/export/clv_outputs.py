"""What ``rfmkit clv`` writes: clv.json (the fitted models), the per-customer values, the
per-segment values and the report, as one set of files for :func:`rfmkit.write_files`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from rfmkit.atomic_files import InBackground

#: Every file name a `clv` run may write: the set a run replaces in its folder (model.json only
#: with an RFM model, report.html unless left out).
CLV_NAMES = ("customers_clv.parquet", "segments_clv.csv", "clv.json", "model.json",
             "report.html")
CUSTOMER_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                    "expected_purchases", "expected_spend", "clv"]


def clv_summary(model: Any) -> dict:
    """clv.json: both fits (log-likelihoods are totals over customers), their standard errors,
    and the settings and counts that produced them."""
    customers = model.customers_
    out = {
        "bg_nbd": {**model.bg_nbd_.params, "log_likelihood": model.bg_nbd_.log_likelihood,
                   "standard_errors": model.bg_nbd_.standard_errors},
        "gamma_gamma": {**model.gamma_gamma_.params,
                        "log_likelihood": model.gamma_gamma_.log_likelihood,
                        "standard_errors": model.gamma_gamma_.standard_errors},
        "time_unit": model.time_unit,
        "calibration_end": model.calibration_end_.isoformat(),
        "holdout_end": model.holdout_end_.isoformat() if model.holdout_end_ else None,
        "horizon": model.horizon_,
        "discount_rate": float(model.discount_rate),
        "customers": model.n_customers_,
        "repeat_buyers": model.n_repeat_buyers_,
        "spend_frequency_spearman": model.spend_frequency_correlation_,
        "total_clv": float(customers["clv"].sum()),
    }
    if "actual_purchases" in customers:
        out["holdout"] = {
            "predicted_purchases": float(customers["expected_purchases"].sum()),
            "actual_purchases": int(customers["actual_purchases"].sum()),
            "predicted_spend": float((customers["expected_purchases"]
                                      * customers["expected_spend"]).sum()),
            "actual_spend": float(customers["actual_spend"].sum()),
        }
    return out


def clv_files(model: Any, customers: pd.DataFrame, groups: pd.DataFrame, *,
              report_html: Callable[[], str] | None = None) -> dict[str, Callable[[Path], None]]:
    """File name -> writer for every output of one ``rfmkit clv`` run."""
    extra = [c for c in ("actual_purchases", "actual_spend", "segment", "cluster",
                         "cluster_name") if c in customers]
    table = customers[CUSTOMER_COLUMNS + extra]
    text = json.dumps(clv_summary(model), indent=2) + "\n"
    files: dict[str, Callable[[Path], None]] = {
        "customers_clv.parquet": InBackground(lambda p: table.to_parquet(p, index=False)),
        "segments_clv.csv": lambda p: groups.to_csv(p, index=False),
        "clv.json": lambda p: p.write_text(text, encoding="utf-8"),
    }
    if report_html is not None:
        files["report.html"] = lambda p: p.write_text(report_html(), encoding="utf-8")
    return files
