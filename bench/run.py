"""The peer benchmark: rfmkit against the alternatives, on the same files, in one run.

    python bench/run.py                       # 1M and 10M rows, median of 3 runs each
    python bench/run.py --rows 1000000 --repeats 5
    python bench/run.py --big                 # also 100M rows (about 4 GB of Parquet)

For each size it generates the seeded bench transactions (rfmkit.demo.write_transactions),
checks on the smallest size that every implementation agrees with the shared definition
(bench/peers.py), then times each one in its own process: wall time (median) and the peak
resident memory of that process. Implementations whose library is not installed are skipped
with a note. It writes docs/benchmark.csv, docs/benchmark.svg (time and memory against rows)
and the table between the markers in README.md (machine, versions, date, ratios to the
hand-written DuckDB query).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from peers import IMPLEMENTATIONS, RFMKIT

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "DuckDB SQL by hand"
BEGIN, END = "<!-- peer benchmark: bench/run.py -->", "<!-- end of peer benchmark -->"

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "wall": wall, "peak_mb": peak_kb / 1024,
                  "stderr": done.stderr[-2000:]}))
"""


def command(name: str, data: Path, out: Path) -> list[str]:
    script = IMPLEMENTATIONS[name][0]
    if script == RFMKIT:
        engine = "spark" if "Spark" in name else "duckdb"
        return [sys.executable, "-m", "rfmkit", "segment", str(data), "--out", str(out),
                "--clusters", "none", "--quiet", "--engine", engine]
    return [sys.executable, "-c", script, str(data), str(out / "customers.parquet")]


def measure(cmd: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                          check=True, cwd=HERE)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:4])} ...\n{result['stderr']}")
    return result


def available(name: str) -> bool:
    return importlib.util.find_spec(IMPLEMENTATIONS[name][2]) is not None


def _reference(data: Path) -> pd.DataFrame:
    """The shared definition, in the most direct pandas: the check's yardstick."""
    df = pd.read_parquet(data).drop_duplicates()
    df = df[df.customer_id.notna() & (df.quantity > 0) & (df.unit_price > 0)
            & ~df.invoice.str.startswith("C")]
    df = df.assign(amount=df.quantity * df.unit_price, day=df.invoice_date.dt.normalize())
    per = df.groupby("customer_id").agg(last=("day", "max"), first=("day", "min"),
                                        frequency=("invoice", "nunique"),
                                        monetary=("amount", "sum"),
                                        days=("day", "nunique"))
    per["recency"] = (per["last"].max() - per["last"]).dt.days
    return per


def check_agreement(name: str, data: Path, reference: pd.DataFrame) -> None:
    """Run ``name`` once on ``data`` and compare its customers with the reference."""
    with tempfile.TemporaryDirectory() as tmp:
        measure(command(name, data, Path(tmp)))
        got = pd.read_parquet(Path(tmp) / "customers.parquet")
    got["customer_id"] = got["customer_id"].astype(str)
    got = got.set_index("customer_id").sort_index()
    ref = reference.sort_index()
    if list(got.index) != list(ref.index):
        raise SystemExit(f"{name}: other customers than the reference "
                         f"({len(got):,} against {len(ref):,})")
    if IMPLEMENTATIONS[name][1] == "rfm":
        for column in ("recency", "frequency"):
            if not np.array_equal(got[column].to_numpy(np.int64), ref[column].to_numpy(np.int64)):
                raise SystemExit(f"{name}: {column} differs from the reference")
        if not np.allclose(got["monetary"], ref["monetary"], rtol=1e-9):
            raise SystemExit(f"{name}: monetary differs from the reference")
    else:  # lifetimes' own summary: repeat purchase days, age at the last purchase
        if not np.array_equal(got["frequency"].to_numpy(np.int64) + 1, ref["days"].to_numpy()):
            raise SystemExit(f"{name}: frequency is not the repeat purchase days")
        age = (ref["last"] - ref["first"]).dt.days.to_numpy()
        if not np.allclose(got["recency"].to_numpy(float), age):
            raise SystemExit(f"{name}: recency is not the age at the last purchase")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("rfmkit", "duckdb", "pandas", "polars", "pyspark", "lifetimes",
                    "pymc-marketing"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_chart(rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    time_ax, memory_ax = fig.subplots(1, 2)
    for name in dict.fromkeys(r["implementation"] for r in rows):
        mine = [r for r in rows if r["implementation"] == name]
        sizes = [r["rows"] for r in mine]
        style = {"linewidth": 2.5} if name.startswith("rfmkit") else {"linewidth": 1.2}
        time_ax.plot(sizes, [r["wall_s"] for r in mine], marker="o", label=name, **style)
        memory_ax.plot(sizes, [r["peak_mb"] for r in mine], marker="o", label=name, **style)
    for ax, label in ((time_ax, "wall time, s (median)"), (memory_ax, "peak memory, MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("transaction rows")
        ax.set_ylabel(label)
    time_ax.legend(fontsize=7)
    fig.savefig(path, metadata={"Date": None})


def readme_table(rows: list[dict], info: dict) -> str:
    lines = [f"Measured by `python bench/run.py` on {info['date']}: {info['machine']}; "
             + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".", "",
             "| rows | implementation | wall (median) | × DuckDB SQL | peak MB | × DuckDB SQL |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['rows']:,} | {r['implementation']} | {r['wall_s']:.2f} s | "
                     f"{r['time_ratio']:.2f} | {r['peak_mb']:,.0f} | {r['memory_ratio']:.2f} |")
    return "\n".join(lines)


def update_readme(table: str) -> None:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--big", action="store_true", help="also 100M rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", help="implementations to time (default: all)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sizes = sorted(set(args.rows + ([100_000_000] if args.big else [])))
    names = [n for n in IMPLEMENTATIONS if args.only is None or n in args.only]
    for name in names:
        if not available(name):
            print(f"skipped: {name} ({IMPLEMENTATIONS[name][2]} is not installed)")
    names = [n for n in names if available(n)]
    if BASELINE not in names:
        names.insert(0, BASELINE)

    files = {}
    for n in sizes:
        files[n] = HERE / "out" / f"transactions_{n}.parquet"
        if not files[n].exists():
            from rfmkit.demo import write_transactions

            print(f"generating {n:,} rows -> {files[n]}", flush=True)
            write_transactions(files[n], n, seed=0)

    smallest = files[sizes[0]]
    reference = _reference(smallest)
    for name in names:
        check_agreement(name, smallest, reference)
        print(f"agrees with the shared definition: {name}", flush=True)

    rows = []
    for n in sizes:
        runs = {name: [] for name in names}
        for i in range(args.repeats):  # alternate implementations within each repeat
            for name in names:
                with tempfile.TemporaryDirectory() as tmp:
                    runs[name].append(measure(command(name, files[n], Path(tmp))))
                print(f"  {n:>11,} rows  run {i + 1}  {name:24s} {runs[name][-1]['wall']:7.2f} s"
                      f"  {runs[name][-1]['peak_mb']:7.0f} MB", flush=True)
        base_t = statistics.median(r["wall"] for r in runs[BASELINE])
        base_m = statistics.median(r["peak_mb"] for r in runs[BASELINE])
        for name in names:
            t = statistics.median(r["wall"] for r in runs[name])
            m = statistics.median(r["peak_mb"] for r in runs[name])
            rows.append({"rows": n, "implementation": name, "wall_s": round(t, 3),
                         "peak_mb": round(m, 1), "time_ratio": round(t / base_t, 3),
                         "memory_ratio": round(m / base_m, 3), "repeats": args.repeats})
    info = {"date": dt.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
            "versions": versions()}
    table = readme_table(rows, info)
    print("\n" + table)
    if args.no_write:
        return
    docs = ROOT / "docs"
    with open(docs / "benchmark.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_chart(rows, docs / "benchmark.svg")
    update_readme(table)
    print(f"wrote {docs / 'benchmark.csv'}, {docs / 'benchmark.svg'} and the README table")


if __name__ == "__main__":
    main()
