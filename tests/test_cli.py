"""The command line, run in-process through rfmkit.cli.main(argv) -> exit code."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from input_support import TEXT, drift_csv, long_ids_csv, week_csv
from rfmkit.cli import main
from rfmkit.demo import write_transactions

COMMANDS = [["segment"], ["score"], ["sql"], ["demo"], ["segments", "check"]]


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    return write_transactions(tmp_path_factory.mktemp("data") / "tx.parquet", 20_000, seed=3)


@pytest.fixture(scope="module")
def segmented(transactions, tmp_path_factory):
    out = tmp_path_factory.mktemp("seg")
    assert main(["segment", str(transactions), "--out", str(out), "--quiet"]) == 0
    return out


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in ("segment", "score", "sql", "demo", "segments"):
        assert name in text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_help_has_examples(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Examples" in capsys.readouterr().out


def test_version(capsys):
    import rfmkit

    assert main(["--version"]) == 0
    assert rfmkit.__version__ in capsys.readouterr().out


def test_segment_writes_every_output(segmented):
    names = {p.name for p in segmented.iterdir()}
    assert {"customers.parquet", "segments.csv", "clusters.csv", "k_selection.csv",
            "quality.json", "model.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no staging leftovers
    customers = pd.read_parquet(segmented / "customers.parquet")
    for col in ("customer_id", "recency", "frequency", "monetary", "r_score", "f_score",
                "m_score", "rfm_code", "segment", "cluster", "cluster_name"):
        assert col in customers.columns
    ids = customers["customer_id"].astype(int)
    assert ids.is_monotonic_increasing and ids.is_unique
    segments = pd.read_csv(segmented / "segments.csv")
    assert segments["customers"].sum() == len(customers)
    assert segments["customer_share"].sum() == pytest.approx(1.0)
    quality = json.loads((segmented / "quality.json").read_text())
    assert quality["customers"] == len(customers)
    assert quality["rows_read"] == 20_000
    assert quality["rows_used"] + quality["rows_dropped"] == 20_000
    model = json.loads((segmented / "model.json").read_text())
    assert model["format"] == "rfmkit-model"


def test_segment_prints_summary(transactions, tmp_path, capsys):
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--clusters", "none"]) == 0
    text = capsys.readouterr().out
    assert "customers from" in text and "Segments" in text and "Champions" in text
    assert "Clusters" not in text
    assert not (tmp_path / "clusters.csv").exists()


def test_score_reproduces_segment(segmented, transactions, tmp_path):
    assert main(["score", str(transactions), "--model", str(segmented / "model.json"),
                 "--out", str(tmp_path), "--quiet", "--format", "csv"]) == 0
    scored = pd.read_csv(tmp_path / "customers.csv", dtype={"customer_id": str})
    trained = pd.read_parquet(segmented / "customers.parquet")
    for col in ("r_score", "f_score", "m_score", "segment", "cluster", "cluster_name"):
        assert scored[col].tolist() == trained[col].tolist(), col
    assert not (tmp_path / "model.json").exists()  # scoring learns nothing


def test_sql_runs_in_duckdb_and_matches_score(segmented, transactions, capsys):
    assert main(["sql", "--model", str(segmented / "model.json"), "--dialect", "duckdb",
                 "--source", "tx"]) == 0
    query = capsys.readouterr().out
    con = duckdb.connect()
    con.execute(f"CREATE TABLE tx AS SELECT * FROM read_parquet('{transactions}')")
    got = con.execute(query).fetch_df()
    trained = pd.read_parquet(segmented / "customers.parquet")
    merged = trained.merge(got, on="customer_id", suffixes=("", "_sql"))
    assert len(merged) == len(trained) == len(got)
    for col in ("r_score", "f_score", "m_score", "segment", "cluster"):
        assert (merged[col].astype(str) == merged[f"{col}_sql"].astype(str)).all(), col


def test_preset_defaults_and_explicit_flags_win(transactions, tmp_path):
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--quiet",
                 "--preset", "quintile", "--monetary", "sum", "--clusters", "none"]) == 0
    params = json.loads((tmp_path / "model.json").read_text())["params"]
    assert params["consolidate_days"] is True  # from the preset
    assert params["frequency"] == "days"  # from the preset
    assert params["monetary"] == "sum"  # given explicitly: wins over the preset's "mean"


def test_csv_format_and_duckdb_destination(transactions, tmp_path):
    db = tmp_path / "crm.db"
    for _ in range(2):  # the second run replaces the tables
        assert main(["segment", str(transactions), "--out", str(tmp_path / "o"), "--quiet",
                     "--format", "csv", "--clusters", "3", "--to", f"duckdb:{db}"]) == 0
    customers = pd.read_csv(tmp_path / "o" / "customers.csv")
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert tables == {"rfm_customers", "rfm_segments", "rfm_clusters"}
    assert con.execute("SELECT count(*) FROM rfm_customers").fetchone()[0] == len(customers)
    assert con.execute("SELECT count(*) FROM rfm_clusters").fetchone()[0] == 3
    con.close()
    # a later run without clusters drops the old clusters table rather than leave it stale
    assert main(["segment", str(transactions), "--out", str(tmp_path / "o2"), "--quiet",
                 "--clusters", "none", "--to", f"duckdb:{db}"]) == 0
    con = duckdb.connect(str(db), read_only=True)
    assert {r[0] for r in con.execute("SHOW TABLES").fetchall()} == {"rfm_customers",
                                                                     "rfm_segments"}
    con.close()


def test_missing_file_is_one_clear_error_and_no_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["segment", str(tmp_path / "nope.csv"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "does not exist" in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_bad_column_error_names_flag(tmp_path, capsys):
    path = tmp_path / "sales.csv"
    path.write_text("client,day,total\na,2024-01-01,3\n")
    assert main(["segment", str(path), "--out", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    # 'client' is recognised as the customer id; 'day' is not a known date name
    assert "sales.csv" in err and "--date" in err and "'day'" in err
    assert not (tmp_path / "o").exists()
    assert main(["segment", str(path), "--out", str(tmp_path / "o"), "--customer",
                 "client", "--date", "day", "--amount", "total", "--clusters", "none"]) == 0
    # one customer is scored (issue 12: any number of customers works), with warnings (not
    # under --quiet, which prints nothing on success: issue 13)
    err = " ".join(capsys.readouterr().err.split())
    assert "Only 1 customer for --bins 5" in err and "Traceback" not in err
    customers = pd.read_parquet(tmp_path / "o" / "customers.parquet")
    assert customers[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [3, 3, 3]


def test_debug_shows_the_traceback(tmp_path):
    from rfmkit.errors import InputError

    with pytest.raises(InputError):
        main(["--debug", "segment", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])


def test_bad_option_values(transactions, tmp_path, capsys):
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--clusters", "many"]) == 2
    assert "--clusters" in capsys.readouterr().err
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--as-of", "soon"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--no-such-flag"]) == 2


def test_segments_check_and_list(capsys):
    assert main(["segments", "check", "rfm-grid-11"]) == 0
    text = capsys.readouterr().out
    assert "rfm-grid-11" in text
    assert main(["segments", "list"]) == 0
    listing = capsys.readouterr().out
    for name in ("rfm-grid-11", "rf-10", "r-rfm-0.3.0"):
        assert name in listing


def test_segments_check_fails_on_incomplete_map(tmp_path, capsys):
    path = tmp_path / "partial.yaml"
    path.write_text("name: partial\nlevels: 5\nrules:\n  - name: Best\n    r: [4, 5]\n")
    assert main(["segments", "check", str(path)]) == 1
    assert "Best" in capsys.readouterr().out


def test_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--rows", "5000", "--seed", "1"]) == 0
    assert (tmp_path / "transactions.parquet").exists()
    assert (tmp_path / "customers.parquet").exists()
    assert "Champions" in capsys.readouterr().out


# --- engines: --spark-master, --query ----------------------------------------------------------
def test_engine_options_need_their_engine(transactions, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["segment", str(transactions), "--out", str(out), "--spark-master",
                 "local[1]"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--spark-master" in err and "--engine spark" in err
    assert main(["segment", str(transactions), "--out", str(out), "--query",
                 "SELECT 1"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--query" in err and "--engine postgres" in err
    assert not out.exists()


def test_threads_and_memory_limit_reach_the_engine_and_change_nothing(transactions, tmp_path):
    import pandas as pd

    base, limited = tmp_path / "base", tmp_path / "limited"
    assert main(["segment", str(transactions), "--out", str(base), "-q"]) == 0
    assert main(["segment", str(transactions), "--out", str(limited), "-q", "--threads", "1",
                 "--memory-limit", "512MB"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(limited / "customers.parquet"),
                                  pd.read_parquet(base / "customers.parquet"))


@pytest.mark.parametrize("flags, named", [
    (["--memory-limit", "2 gigs"], "--memory-limit '2 gigs' is not a size"),
    (["--memory-limit", "2MB"], "--memory-limit 2MB is below 64MB"),
    (["--threads", "0"], "--threads"),
    (["--engine", "postgres", "--threads", "2"], "it needs --engine duckdb or --engine spark"),
])
def test_bad_threads_or_memory_limit_name_the_flag_and_write_nothing(transactions, tmp_path,
                                                                    capsys, flags, named):
    out = tmp_path / "o"
    assert main(["segment", str(transactions), "--out", str(out), *flags]) == 2
    assert named in " ".join(capsys.readouterr().err.split())
    assert not out.exists()


@pytest.mark.postgres
def test_postgres_query_input_and_table_output(transactions, segmented, tmp_path):
    """--engine postgres --query aggregates in the database; --to writes the tables there."""
    psycopg = pytest.importorskip("psycopg", reason="pip install 'rfmkit[postgres]'")
    from pg_server import get_server

    dsn = get_server().new_database()
    frame = pd.read_parquet(transactions)
    # the whole table plus rows of a customer that the query filters out again
    extra = frame.head(50).assign(customer_id="ZZ-filtered")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute('CREATE TABLE "Sales" (invoice text, stock_code text, customer_id text, '
                     "invoice_date timestamp, quantity bigint, unit_price double precision, "
                     "country text)")
        with conn.cursor().copy('COPY "Sales" FROM STDIN') as copy:
            for row in pd.concat([frame, extra]).itertuples(index=False):
                copy.write_row(tuple(None if pd.isna(v) else v for v in row))
    out = tmp_path / "pg"
    query = """SELECT * FROM "Sales" WHERE customer_id IS DISTINCT FROM 'ZZ-filtered'"""
    assert main(["score", dsn, "--engine", "postgres", "--query", query,
                 "--model", str(segmented / "model.json"), "--out", str(out), "--quiet",
                 "--to", dsn]) == 0
    expected = pd.read_parquet(segmented / "customers.parquet")
    got = pd.read_parquet(out / "customers.parquet")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM rfm_customers").fetchone()[0] == len(expected)


@pytest.mark.spark
def test_spark_master_runs_the_spark_engine(transactions, segmented, tmp_path):
    pytest.importorskip("pyspark", reason="pip install 'rfmkit[spark]'")
    from spark_session import get_session

    get_session()  # the suite's one local session (a JVM per test would be slow)
    out = tmp_path / "spark"
    assert main(["score", str(transactions), "--engine", "spark", "--spark-master", "local[2]",
                 "--model", str(segmented / "model.json"), "--out", str(out), "--quiet"]) == 0
    expected = pd.read_parquet(segmented / "customers.parquet")
    got = pd.read_parquet(out / "customers.parquet")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)


def _console(args: list[str], *, exit_handler: bool = False, setup: str = ""):
    """Run the console command (rfmkit.cli.run, as the installed script does) in a process."""
    import subprocess
    import sys

    script = ("import atexit, sys\nfrom rfmkit.cli import run\n"
              + ("atexit.register(print, 'exit handler ran', flush=True)\n" if exit_handler
                 else "")
              + setup
              + f"sys.argv = ['rfmkit', *{args!r}]\nrun()\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)


def test_segment_leaves_no_thread_running(transactions, tmp_path):
    # what lets the console command skip the interpreter's teardown (rfmkit.cli.run)
    import threading

    before = set(threading.enumerate())
    assert main(["segment", str(transactions), "--out", str(tmp_path), "--quiet"]) == 0
    left = [t for t in set(threading.enumerate()) - before if not t.daemon]
    assert not left


def test_console_command_waits_for_a_librarys_threads(tmp_path):
    # a thread only Python's usual exit stops (an idle pool's worker): the command must end
    setup = ("from concurrent.futures import ThreadPoolExecutor\n"
             "ThreadPoolExecutor(1).submit(print, 'pool ran', flush=True).result()\n")
    out = _console(["--version"], exit_handler=True, setup=setup)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "pool ran"
    assert out.stdout.rstrip().endswith("exit handler ran")


def test_console_command_exit_codes_output_and_exit_handlers(transactions, tmp_path):
    # run() skips the interpreter's teardown: the exit code, the printed summary, the files
    # and other libraries' exit handlers must all be as with a normal exit
    out = _console(["segment", str(transactions), "--out", str(tmp_path / "o")],
                   exit_handler=True)
    assert out.returncode == 0, out.stderr
    assert "customers" in out.stdout and out.stdout.rstrip().endswith("exit handler ran")
    assert (tmp_path / "o" / "customers.parquet").exists()
    assert (tmp_path / "o" / "report.html").read_text().rstrip().endswith("</html>")
    bad = _console(["segment", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x")],
                   exit_handler=True)
    assert bad.returncode == 2
    assert "does not exist" in bad.stderr and "Traceback" not in bad.stderr
    assert "leaked" not in bad.stderr  # no teardown noise from half-loaded libraries
    assert bad.stdout.rstrip().endswith("exit handler ran")
    assert not (tmp_path / "x").exists()
    assert _console(["--version"]).returncode == 0


# --- issue 12: parameters, small data, as-of, through the real command ---------------------------
def _rfmkit(*args: str):
    """The command in its own process (the environment, PYTHONPATH included, is inherited)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "rfmkit", *args], capture_output=True,
                          text=True, timeout=300)


def _tiny_csv(path, n_customers: int):
    days = pd.date_range("2023-01-01", periods=9, freq="17D")
    rows = [(f"c{c}", f"o{c}-{i}", days[(c * 4 + i) % 9].date(), 10.0 * (c + 1) + i)
            for c in range(n_customers) for i in range(1 + c % 3)]
    pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).to_csv(
        path, index=False)
    return path


@pytest.mark.parametrize(("flags", "message"), [
    (["--cap-monetary", "-5"], "--cap-frequency/--cap-monetary/--cap-quantile must give "
                               "'monetary' a cap > 0. Got -5.0 instead"),
    (["--cap-frequency", "0"], "must give 'frequency' a cap >= 1. Got 0.0 instead"),
    # "None" is Python's "not given": a CLI user is not told about it
    (["--bins", "1000"], "--bins must be an int >= 2 and <= 20. Got 1000 instead"),
    (["--scores", "foo"], "--scores must be one of 'quantile', 'percentile'. Got 'foo'"),
    # any number of bins fits a map now; a map-name typo is still caught before the data
    (["--bins", "7", "--segment-map", "rfm-grid-12"], "'rfm-grid-12' is neither a built-in"),
    (["--clusters", "0"], "--clusters must be"),
    # Python's quantile strings ('q0.99') are not what a CLI user types
    (["--cap-quantile", "2"], "invalid quantile cap 2.0 for 'frequency'. Give --cap-quantile a "
                              "number in (0, 1], e.g. --cap-quantile 0.99"),
], ids=["cap-monetary", "cap-frequency", "bins-1000", "scores-foo", "map-typo", "clusters-0",
        "cap-quantile"])
def test_nonsense_parameters_are_refused_before_the_data_is_read(tmp_path, flags, message):
    # the input does not exist: an error about the parameter proves it came first
    out = _rfmkit("segment", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), *flags)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert message in " ".join(out.stderr.split()), out.stderr
    assert "does not exist" not in out.stderr and not (tmp_path / "o").exists()


def test_other_spellings_of_quantile_and_quintile_are_accepted_with_a_note(tmp_path):
    data = _tiny_csv(tmp_path / "tx.csv", 30)
    for flags, note in ((["--preset", "quantile"], "--preset quantile is read as --preset "
                         "quintile"),
                        (["--scores", "quintile"], "--scores quintile is read as --scores "
                         "quantile")):
        out = _rfmkit("segment", str(data), "--out", str(tmp_path / flags[1]), "--clusters",
                      "none", *flags)
        assert out.returncode == 0, out.stderr
        assert note in " ".join(out.stderr.split()), out.stderr
        assert "RFMModel" not in out.stderr and "score_method" not in out.stderr


def test_out_that_is_a_file_is_refused_before_the_data_is_read(tmp_path):
    existing = tmp_path / "results"
    existing.write_text("keep me", encoding="utf-8")
    out = _rfmkit("segment", str(tmp_path / "missing.csv"), "--out", str(existing))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "--out" in out.stderr and "is an existing file, not a folder" in out.stderr
    assert existing.read_text(encoding="utf-8") == "keep me"


def test_three_customers_and_a_tsne_report_on_two_work(tmp_path):
    out = _rfmkit("segment", str(_tiny_csv(tmp_path / "three.csv", 3)), "--out",
                  str(tmp_path / "o3"), "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert "Only 3 customers for --bins 5" in " ".join(out.stderr.split())
    assert len(pd.read_csv(tmp_path / "o3" / "customers.csv")) == 3
    two = _tiny_csv(tmp_path / "two.csv", 2)
    assert _rfmkit("segment", str(two), "--out", str(tmp_path / "o2"), "-q").returncode == 0
    report = _rfmkit("report", str(two), "-m", str(tmp_path / "o2" / "model.json"), "-o",
                     str(tmp_path / "r2"), "--projection", "tsne")
    assert report.returncode == 0, report.stderr
    assert "t-SNE needs at least 10, so the map uses PCA" in " ".join(report.stderr.split())
    assert (tmp_path / "r2" / "report.html").read_text(encoding="utf-8").rstrip().endswith(
        "</html>")


def test_as_of_far_after_the_data_is_warned(tmp_path):
    out = _rfmkit("segment", str(_tiny_csv(tmp_path / "t.csv", 30)), "--out", str(tmp_path / "o"),
                  "--as-of", "2030-01-01", "--clusters", "none")  # -q would hide it
    assert out.returncode == 0, out.stderr
    assert "--as-of 2030-01-01 is 2,421 days after the latest purchase" in " ".join(
        out.stderr.split())


# --- reading inputs correctly (issue 12) -------------------------------------------------------
# Bad input: one clear message, no traceback, nothing written. Exit code 1 today (cli/errors.py).

def _refused(args: list[str], out, capsys) -> str:
    assert main([*args, "--out", str(out), "--quiet"]) in (1, 2)
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
    return err


def test_cli_long_numeric_ids_stay_distinct(tmp_path):
    out = tmp_path / "o"
    assert main(["segment", str(long_ids_csv(tmp_path / "ids.csv")), "--out", str(out),
                 "--quiet", "--clusters", "none"]) == 0
    ids = pd.read_parquet(out / "customers.parquet")["customer_id"]
    assert len(ids) == 1000 and ids.iloc[5] == "123456789012340005"


def test_cli_float_ids_that_are_not_integers_are_refused(tmp_path, capsys):
    path = tmp_path / "f.parquet"
    pd.DataFrame({"customer_id": [1.0, 2.5], "order_date": pd.to_datetime(["2023-01-01"] * 2),
                  "amount": [1.0, 2.0]}).to_parquet(path)
    err = _refused(["segment", str(path)], tmp_path / "o", capsys)
    assert "'customer_id'" in err and "2.5" in err and "--customer NAME" in err


def test_cli_ambiguous_dates_ask_for_the_order(tmp_path, capsys):
    path = week_csv(tmp_path / "week.csv")
    err = _refused(["segment", str(path)], tmp_path / "o", capsys)
    assert "week.csv" in err and "'order_date'" in err
    assert "--dayfirst or --monthfirst" in err and "--date-format '%m/%d/%Y'" in err
    out = tmp_path / "us"
    assert main(["segment", str(path), "--monthfirst", "--out", str(out), "--quiet",
                 "--clusters", "none"]) == 0
    recency = pd.read_parquet(out / "customers.parquet")["recency"]
    assert (recency.min(), recency.max()) == (0, 6)
    assert json.loads((out / "model.json").read_text())["metric_options"]["date_order"] == (
        "monthfirst")
    # score reads the dates as segment did: every customer in the same segment
    scored = tmp_path / "scored"
    assert main(["score", str(path), "--model", str(out / "model.json"), "--out", str(scored),
                 "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(scored / "customers.parquet"),
                                  pd.read_parquet(out / "customers.parquet"))


@pytest.mark.parametrize("fmt", ["%s", "abc"])
def test_cli_unusable_date_format(tmp_path, capsys, fmt):
    err = _refused(["segment", str(week_csv(tmp_path / "w.csv")), "--date-format", fmt],
                   tmp_path / "o", capsys)
    assert (f"--date-format {fmt} " in err or f"--date-format '{fmt}' " in err)
    assert "%d/%m/%Y" in err


def test_cli_type_drift_after_100k_rows_is_counted(tmp_path):
    # a real process: the sniffer-sample drift used to end in a DuckDB traceback
    path = drift_csv(tmp_path / "drift.csv", "amount")
    out = tmp_path / "o"
    done = _console(["segment", str(path), "--out", str(out), "--quiet", "--clusters", "none"])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    quality = json.loads((out / "quality.json").read_text())
    assert quality["dropped"]["unparseable_amount"] == 5000


def test_cli_repeated_xlsx_header(tmp_path):
    frame = pd.DataFrame([[f"C{i}", f"2023-01-{1 + i % 28:02d}", 10.0 + i, 2.0]
                          for i in range(50)],
                         columns=["customer_id", "order_date", "amount", "amount"])
    frame.to_excel(tmp_path / "dup.xlsx", index=False, engine="openpyxl")
    out = tmp_path / "o"
    assert main(["segment", str(tmp_path / "dup.xlsx"), "--out", str(out), "--quiet",
                 "--clusters", "none"]) == 0
    monetary = pd.read_parquet(out / "customers.parquet")["monetary"]
    assert monetary.sum() == sum(10.0 + i for i in range(50))


def test_cli_money_extremes(tmp_path, capsys):
    big = tmp_path / "big.csv"
    big.write_text("customer_id,order_date,amount\n" + "".join(
        f"C{i},2023-01-0{1 + i % 9},{i + 1}e32\n" for i in range(20)))
    out = tmp_path / "o"
    assert main(["segment", str(big), "--out", str(out), "--quiet", "--clusters", "none"]) == 0
    monetary = pd.read_parquet(out / "customers.parquet").set_index("customer_id")["monetary"]
    assert monetary["C19"] == 2e33
    huge = tmp_path / "huge.csv"
    huge.write_text("customer_id,order_date,amount\n" + "".join(
        f"C{i},2023-01-01,{i + 1}e37\n" for i in range(20)))
    err = _refused(["segment", str(huge)], tmp_path / "h", capsys)
    assert "huge.csv" in err and "'amount'" in err and "38 digits" in err


def test_cli_encodings(tmp_path, capsys):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(TEXT.encode("latin-1"))
    err = _refused(["segment", str(latin)], tmp_path / "o", capsys)
    assert "not valid UTF-8 text at byte 52" in err and "--encoding latin-1" in err
    out = tmp_path / "ok"
    assert main(["segment", str(latin), "--encoding", "latin-1", "--out", str(out), "--quiet",
                 "--clusters", "none"]) == 0
    for command in (["score"], ["report"]):
        target = tmp_path / command[0]
        assert main([*command, str(latin), "--model", str(out / "model.json"), "--encoding",
                     "latin-1", "--out", str(target), "--quiet"]) == 0
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(TEXT.encode("utf-16-be"))
    assert main(["score", str(utf16), "--model", str(out / "model.json"), "--out",
                 str(tmp_path / "u16"), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "u16" / "customers.parquet"),
                                  pd.read_parquet(tmp_path / "score" / "customers.parquet"))
    err = _refused(["segment", str(latin), "--encoding", "klingon"], tmp_path / "k", capsys)
    assert "--encoding klingon is not a known text encoding" in err


def test_currency_writes_the_report_s_money(transactions, segmented, tmp_path, capsys):
    out = tmp_path / "seg"
    assert main(["segment", str(transactions), "--out", str(out), "--quiet", "--currency",
                 "EUR", "--clusters", "none"]) == 0
    assert "revenue (€)" in (out / "report.html").read_text(encoding="utf-8")
    report = tmp_path / "rep"
    assert main(["report", str(transactions), "--model", str(segmented / "model.json"),
                 "--out", str(report), "--quiet", "--currency", "£"]) == 0
    assert "revenue (£)" in (report / "report.html").read_text(encoding="utf-8")
    # a bad currency fails before any data is read, naming the flag
    capsys.readouterr()
    assert main(["report", str(transactions), "--model", str(segmented / "model.json"),
                 "--out", str(tmp_path / "bad"), "--currency", "12"]) == 2
    assert "--currency must be an ISO 4217 code" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def _priced(path, amount) -> str:
    """180 orders of 60 customers over three months, amounts written by ``amount(i)``."""
    rows = [f"C{i % 60};O{i};2023-0{1 + i % 3}-{1 + i % 28:02d};{amount(i)}" for i in range(180)]
    path.write_text("customer;order;date;amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_cli_decimal_and_thousands(tmp_path, capsys):
    eu = _priced(tmp_path / "eu.csv", lambda i: f"{1 + i % 7}.{i % 10}{i % 9}0,{i % 100:02d} €")
    err = _refused(["segment", eu], tmp_path / "refused", capsys)
    assert "--decimal ',' and --thousands '.'" in err and "'1.000,00 €'" in err
    out = tmp_path / "fit"
    assert main(["segment", eu, "--decimal", ",", "--thousands", ".", "--out", str(out),
                 "--clusters", "none"]) == 0
    assert "Read 180 amounts without a currency sign or code" in capsys.readouterr().out
    quality = json.loads((out / "quality.json").read_text())
    assert quality["cleaned"] == {"currency_sign": 180} and quality["rows_dropped"] == 0
    model = str(out / "model.json")
    # the model keeps the format: the same file scores, reports and histories as it is
    assert main(["score", eu, "-m", model, "--out", str(tmp_path / "s"), "--quiet"]) == 0
    assert main(["report", eu, "-m", model, "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert main(["history", eu, "-m", model, "--every", "month", "--start", "2023-01-31",
                 "--out", str(tmp_path / "h"), "--quiet"]) == 0
    us = _priced(tmp_path / "us.csv", lambda i: f"US${1 + i % 7},{i % 10}{i % 9}0.{i % 100:02d}")
    assert main(["score", us, "-m", model, "--decimal", ".", "--thousands", ",", "--out",
                 str(tmp_path / "us"), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "us" / "customers.parquet"),
                                  pd.read_parquet(tmp_path / "s" / "customers.parquet"))
    err = _refused(["score", us, "-m", model], tmp_path / "us_refused", capsys)
    assert "'US$1,000.00'" in err and "--thousands ','" in err
    err = _refused(["segment", eu, "--decimal", ";"], tmp_path / "semicolon", capsys)
    assert "--decimal must be one of '.', ','. Got ';' instead" in err
    err = _refused(["segment", eu, "--decimal", ",", "--thousands", ","], tmp_path / "same",
                   capsys)
    assert "--decimal ',' and --thousands ',' must differ" in err


def test_cli_a_workbook_with_several_sheets_names_them_and_table(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    orders = pd.DataFrame({"customer": [f"c{i % 7}" for i in range(30)],
                           "date": [f"2023-01-{1 + i % 28:02d}" for i in range(30)],
                           "amount": [5.0 + i for i in range(30)]})
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="readme", index=False)
        orders.to_excel(writer, sheet_name="sales", index=False)
    err = _refused(["segment", str(book)], tmp_path / "o", capsys)
    assert "has 2 sheets ('readme', 'sales'); only the first, 'readme', is read" in err
    assert "--table sales" in err
    assert main(["segment", str(book), "--table", "sales", "--out", str(tmp_path / "ok"),
                 "--quiet", "--clusters", "none"]) == 0


def test_cli_customer_level_input_gets_the_customer_level_flags(tmp_path, capsys):
    table = tmp_path / "customers.csv"
    table.write_text("client_id,days_since_last,n_purchases,total_spent\n" + "".join(
        f"c{i},{i * 3 % 50},{1 + i % 6},{10.5 * (1 + i % 9)}\n" for i in range(40)))
    err = _refused(["segment", str(table)], tmp_path / "o", capsys)
    assert ("--recency 'days_since_last' and --frequency-column 'n_purchases' and "
            "--monetary-column 'total_spent'") in err
    assert "--date NAME" in err and err.index("--recency") < err.index("--date")
    assert main(["segment", str(table), "--recency", "days_since_last", "--frequency-column",
                 "n_purchases", "--monetary-column", "total_spent", "--out",
                 str(tmp_path / "ok"), "--quiet", "--clusters", "none"]) == 0
