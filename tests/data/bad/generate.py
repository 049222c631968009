"""Generate the bad-input corpus: hostile and messy inputs, each with its documented behaviour.

    python tests/data/bad/generate.py   # rewrites tests/data/bad/files/, cases.json and the
                                        # corpus table in docs/data-quality.md

Every case is an input (a file written here, or an option) and what rfmkit must do with it,
one of three behaviours (docs/data-quality.md has the policy):

  error    exit code 2, one paragraph on stderr naming what is wrong and the fix, no
           traceback, and nothing written or replaced (an earlier run in --out stays as it was);
  warning  exit code 0, a warning on stderr, and where rows are dropped the count in quality.json;
  silent   exit code 0, no warning, because the result is correct.

``tests/test_bad_inputs.py`` runs every case through the real console command, and checks that
this script, run again, writes exactly the committed files (the corpus cannot drift from it).
The script uses only the standard library and pandas/pyarrow/openpyxl, all test dependencies.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
HEADER = "customer_id,order_id,order_date,amount\n"


def _rows(n_customers: int = 12, days: int = 60, seed: int = 0, *,
          start: dt.date = dt.date(2023, 1, 1)) -> list[tuple[str, str, str, str]]:
    """Plain good transactions: (customer, order, ISO date, amount) as text."""
    rng = random.Random(seed)
    rows = []
    order = 1000
    for c in range(n_customers):
        for _ in range(1 + c % 4):
            order += 1
            day = start + dt.timedelta(days=rng.randrange(days))
            amount = f"{rng.randint(5, 500)}.{rng.randint(0, 99):02d}"
            rows.append((f"C{c:03d}", str(order), day.isoformat(), amount))
    return rows


def _csv(rows, header: str = HEADER) -> str:
    return header + "".join(",".join(r) + "\n" for r in rows)


def _write(name: str, data: str | bytes) -> str:
    path = FILES / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return f"files/{name}"


def _parquet(name: str, frame) -> str:
    path = FILES / name
    frame.to_parquet(path, index=False)
    return f"files/{name}"


def _drift(kind: str) -> str:
    """100,010 rows whose column type changes after the first 100,000 (past any type sniff)."""
    lines = [HEADER]
    for i in range(100_010):
        late = i >= 100_000
        cust = f"{i % 5000}"
        amount = "12.50"
        date = f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}"
        if late and kind == "ids":
            cust = f"X-{i % 7}"
        if late and kind == "amounts":
            amount = "n/a"
        if late and kind == "dates":
            date = "someday"
        lines.append(f"{cust},{i},{date},{amount}\n")
    return _write(f"drift_{kind}.csv.gz", "".join(lines))


def build() -> list[dict]:
    import pandas as pd

    FILES.mkdir(parents=True, exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    good = _rows()
    cases: list[dict] = []

    def case(id: str, category: str, input: str, behaviour: str, argv: list[str], *,
             stderr: list[str] = (), checks: dict | None = None, command: str = "segment"):
        cases.append({"id": id, "category": category, "input": input, "behaviour": behaviour,
                      "command": command, "argv": argv, "stderr": list(stderr),
                      "checks": checks or {}})

    # --- formats and files ----------------------------------------------------------------------
    f = _write("empty.csv", "")
    case("empty_file", "format", "a CSV of 0 bytes", "error", [f], stderr=["empty.csv"])
    f = _write("header_only.csv", HEADER)
    case("header_only", "format", "a CSV with a header and no rows", "error", [f],
         stderr=["header_only.csv"])
    f = _write("garbage.parquet", bytes(range(256)) * 8)
    case("not_parquet", "format", "random bytes named .parquet", "error", [f],
         stderr=["garbage.parquet"])
    ok = FILES / "truncated.parquet"
    pd.DataFrame(good, columns=HEADER.strip().split(",")).to_parquet(ok, index=False)
    ok.write_bytes(ok.read_bytes()[: ok.stat().st_size // 2])
    case("truncated_parquet", "format", "a Parquet file cut in half", "error",
         ["files/truncated.parquet"], stderr=["truncated.parquet"])
    latin = _csv([(f"Jos\u00e9{c}", o, d, a) for c, o, d, a in good]).encode("latin-1")
    f = _write("latin1.csv", latin)
    case("latin1_without_encoding", "format", "a Latin-1 CSV, read as UTF-8", "error", [f],
         stderr=["latin1.csv", "--encoding"])
    case("latin1_with_encoding", "format", "a Latin-1 CSV with --encoding latin-1", "silent",
         [f, "--encoding", "latin-1"], checks={"customers": 12, "has_customer": "Jos\u00e9C000"})
    f = _write("utf16.csv", _csv(good).encode("utf-16"))
    case("utf16_bom", "format", "a UTF-16 CSV with its BOM", "silent", [f],
         checks={"customers": 12})
    f = _write("utf8_bom.csv", b"\xef\xbb\xbf" + _csv(good).encode())
    case("utf8_bom", "format", "a UTF-8 CSV starting with a BOM", "silent", [f],
         checks={"customers": 12})
    f = _write("semicolon.csv", _csv(good).replace(",", ";"))
    case("semicolon", "format", "a semicolon-separated CSV", "silent", [f],
         checks={"customers": 12})
    dup_header = "customer_id,order_id,order_date,amount,amount\n"
    dup_rows = [(c, o, d, a, "1.00") for c, o, d, a in good]
    f = _write("duplicate_columns.csv", _csv(dup_rows, dup_header))
    case("csv_duplicate_columns", "format", "a CSV with two columns named amount", "silent", [f],
         checks={"customers": 12, "revenue": round(sum(float(r[3]) for r in good), 2)})
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(dup_header.strip().split(","))
    for c, o, d, a, extra in dup_rows:
        sheet.append([c, int(o), dt.date.fromisoformat(d), float(a), float(extra)])
    book.save(FILES / "duplicate_columns.xlsx")
    case("xlsx_duplicate_columns", "format", "an xlsx with two columns named amount", "silent",
         ["files/duplicate_columns.xlsx"],
         checks={"customers": 12, "revenue": round(sum(float(r[3]) for r in good), 2)})
    for kind in ("ids", "amounts", "dates"):
        f = _drift(kind)
        if kind == "ids":
            case("drift_ids", "format", "customer ids that turn to text after 100,000 rows",
                 "silent", [f], checks={"customers": 5007})
        else:
            reason = "unparseable_amount" if kind == "amounts" else "unparseable_date"
            case(f"drift_{kind}", "format", f"{kind} that stop parsing after 100,000 rows",
                 "warning", [f], stderr=[kind[:-1]], checks={"dropped": {reason: 10}})

    # --- values ---------------------------------------------------------------------------------
    ids = [str(10**17 + 7 * i) for i in range(1000)]
    rows = [(cid, f"{i}-{k}", (dt.date(2023, 1, 1) + dt.timedelta(days=(i * 7 + k * 31) % 300)
                               ).isoformat(), f"{10 + (i * 13 + k * 7) % 400}.{i % 100:02d}")
            for i, cid in enumerate(ids) for k in range(1 + i % 4)]
    rows[5] = (rows[5][0] + ".0",) + rows[5][1:]
    f = _write("long_ids_one_float.csv", _csv(rows))
    case("long_ids_one_float", "values", "18-digit ids, one written with a trailing .0",
         "silent", [f], checks={"customers": 1000, "has_customer": ids[999]})
    varied = [(float(c), f"{c}-{k}",
               pd.Timestamp("2023-01-01") + pd.Timedelta(days=(c * 11 + k * 23) % 90),
               5.0 + (c * 17 + k * 5) % 60) for c in range(1, 21) for k in range(1 + c % 4)]
    pd.DataFrame(varied, columns=["customer_id", "order_id", "order_date", "amount"]
                 ).to_parquet(FILES / "float_ids_integral.parquet", index=False)
    case("float_ids_integral", "values", "Parquet float ids that are whole numbers", "silent",
         ["files/float_ids_integral.parquet"], checks={"customers": 20, "has_customer": "17"})
    pd.DataFrame({"customer_id": [i + 0.5 for i in range(20)], "order_id": range(20),
                  "order_date": pd.Timestamp("2023-01-01"), "amount": 10.0}
                 ).to_parquet(FILES / "float_ids_fraction.parquet", index=False)
    case("float_ids_fraction", "values", "Parquet float ids with fractions", "error",
         ["files/float_ids_fraction.parquet"], stderr=["customer_id", "0.5"])
    pd.DataFrame({"customer_id": [2.0**53 + 2 * i for i in range(20)], "order_id": range(20),
                  "order_date": pd.Timestamp("2023-01-01"), "amount": 10.0}
                 ).to_parquet(FILES / "float_ids_huge.parquet", index=False)
    case("float_ids_beyond_2_53", "values", "Parquet float ids at or past 2^53", "error",
         ["files/float_ids_huge.parquet"], stderr=["customer_id"])
    us = [(f"C{c}", str(c * 10 + d), f"01/0{d}/2023", f"{10 + (c * 7 + d * 3) % 90}")
          for c in range(40) for d in range(1, 8) if (c * d + c) % (2 + c % 4)]
    f = _write("ambiguous_dates.csv", _csv(us))
    case("ambiguous_dates", "values", "text dates that read both day-first and month-first",
         "error", [f], stderr=["order_date", "--date-format"])
    case("ambiguous_dates_with_format", "values", "the same with --date-format %m/%d/%Y",
         "silent", [f, "--date-format", "%m/%d/%Y"],
         checks={"recency_max": 7 - min(max(int(r[2][3:5]) for r in us if r[0] == c)
                                        for c in {r[0] for r in us})})
    decided = us + [("C99", "9999", "13/01/2023", "10")]
    f = _write("dayfirst_dates.csv", _csv(decided))
    case("dates_decided_by_values", "values", "text dates where one value (13/01) decides",
         "silent", [f], checks={"as_of": "2023-07-01"})
    typo = good + [("C001", "77777", "2099-01-05", "10.00")]
    f = _write("typo_2099.csv", _csv(typo))
    case("as_of_outlier_row", "values", "one typo row dated 2099 among 2023 data", "warning", [f],
         stderr=["2099"])
    one_day = [(c, o, "2023-05-05", a) for c, o, _, a in good]
    f = _write("one_date.csv", _csv(one_day))
    case("every_row_one_date", "values", "every purchase on one date", "warning", [f],
         stderr=["same recency"], checks={"no_segment": "Lost"})
    f = _write("huge_amounts.csv", _csv([(c, o, d, "1e33") for c, o, d, _ in good]))
    case("huge_amounts", "values", "amounts of 1e33", "silent", [f],
         checks={"customers": 12, "revenue": 1e33 * len(good)})
    f = _write("tiny_amounts.csv", _csv([(c, o, d, "0.0000001") for c, o, d, _ in good]))
    case("tiny_amounts", "values", "amounts of 1e-7", "silent", [f],
         checks={"customers": 12, "min_monetary_positive": True})
    mixed = list(good)
    mixed[0] = ("", mixed[0][1], mixed[0][2], mixed[0][3])
    mixed[1] = (mixed[1][0], mixed[1][1], "not a date", mixed[1][3])
    mixed[2] = (mixed[2][0], mixed[2][1], mixed[2][2], "abc")
    mixed[3] = (mixed[3][0], mixed[3][1], mixed[3][2], "-20")
    f = _write("mixed_bad_rows.csv", _csv(mixed))
    case("counted_drops", "values", "one row each: no customer, bad date, bad amount, return",
         "warning", [f], stderr=["amount"],
         checks={"dropped": {"missing_customer": 1, "unparseable_date": 1,
                             "unparseable_amount": 1, "non_positive_amount": 1}})
    f = _write("duplicates.csv", _csv(good + good[:5]))
    case("exact_duplicates", "values", "five rows repeated exactly", "silent", [f],
         checks={"dropped": {"duplicate_row": 5},
                 "revenue": round(sum(float(r[3]) for r in good), 2)})
    pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "order_id": ["1", "2", "3", "4"],
                  "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta([0, 1, 2, 3], "D"),
                  "amount": [10.0, float("nan"), float("inf"), 5.0]}
                 ).to_parquet(FILES / "non_finite.parquet", index=False)
    case("non_finite_amounts", "values", "NaN and infinite amounts in Parquet", "warning",
         ["files/non_finite.parquet"], checks={"dropped": {"unparseable_amount": 2}})
    f = _write("no_customers.csv", _csv([("", o, d, a) for _, o, d, a in good]))
    case("no_customer_ids", "values", "no row has a customer id", "error", [f],
         stderr=["customer"])
    f = _write("one_customer.csv", _csv([r for r in good if r[0] == "C003"]))
    case("one_customer", "values", "one customer", "warning", [f], checks={"customers": 1})
    f = _write("three_customers.csv", _csv([r for r in good if r[0] in ("C001", "C002", "C003")]))
    case("three_customers", "values", "three customers with the default 5 bins", "warning", [f],
         checks={"customers": 3})

    revenue = round(sum(float(r[3]) for r in good), 2)
    eu = [(c, o, d, f"{float(a) * 10:,.2f} €".translate(str.maketrans(",.", ".,")))
          for c, o, d, a in good]  # 1.234,50 €
    f = _write("decimal_comma.csv", HEADER.replace(",", ";") + "".join(";".join(r) + "\n"
                                                                       for r in eu))
    case("decimal_comma_without_flags", "values", "amounts like 1.234,50 € without --decimal",
         "error", [f], stderr=["--decimal ',' and --thousands '.'"])
    case("decimal_comma_with_flags", "values", "the same with --decimal , --thousands .",
         "silent", [f, "--decimal", ",", "--thousands", "."],
         checks={"customers": 12, "revenue": round(revenue * 10, 2)})
    f = _write("currency_signs.csv", _csv([(c, o, d, f"${a}") for c, o, d, a in good]))
    case("currency_signs", "values", "amounts like $123.45 (a currency sign, counted)", "silent",
         [f], checks={"customers": 12, "revenue": revenue})
    mixed = [(c, o, d, f"${a}" if i % 2 else f"{a} €") for i, (c, o, d, a) in enumerate(good)]
    f = _write("mixed_currencies.csv", _csv(mixed))
    case("mixed_currencies", "values", "amounts in dollars ($12.50) and euros (12.50 €) in one "
         "column", "error", [f], stderr=["mixes currencies", "'$'", "'€'"])
    dots = [(c, o, d, f"{int(float(a)) * 10 + 1000:,}".replace(",", ".")) for c, o, d, a in good]
    f = _write("dot_thousands.csv", _csv(dots))
    case("dot_may_group_thousands", "values", "amounts like 1.234 and no other decimals",
         "error", [f], stderr=["--decimal '.' or --thousands '.'"])
    book = Workbook()
    book.active.title = "2023"
    book.active.append(HEADER.strip().split(","))
    for c, o, d, a in good:
        book.active.append([c, int(o), dt.date.fromisoformat(d), float(a)])
    book.create_sheet("2024").append(HEADER.strip().split(","))
    book.save(FILES / "two_sheets.xlsx")
    case("xlsx_several_sheets", "format", "an xlsx with two sheets, read without --table",
         "warning", ["files/two_sheets.xlsx"], stderr=["'2023', '2024'", "--table 2024"],
         checks={"customers": 12})
    level = "client_id,days_since_last,n_purchases,total_spent\n" + "".join(
        f"C{i:03d},{i * 7 % 60},{1 + i % 4},{10 + i * 13 % 90}.50\n" for i in range(12))
    f = _write("customer_level_names.csv", level)
    case("customer_level_unusual_names", "values", "a customer-level table with unusual names",
         "error", [f], stderr=["--recency 'days_since_last'", "--monetary-column 'total_spent'"])

    # --- options --------------------------------------------------------------------------------
    g = _write("good.csv", _csv(good))
    for flag, value, fragment in [("--cap-monetary", "-5", "--cap-monetary"),
                                  ("--cap-frequency", "0", "--cap-frequency"),
                                  ("--bins", "1000", "--bins"), ("--bins", "0", "--bins"),
                                  ("--as-of", "yesterday-ish", "--as-of"),
                                  ("--date-format", "%s", "--date-format"),
                                  ("--date-format", "%Q", "--date-format"),
                                  ("--encoding", "klingon", "--encoding"),
                                  ("--k-min", "0", "--k-min")]:
        case(f"option_{flag.strip('-').replace('-', '_')}_{value.strip('%-') or 'x'}", "options",
             f"{flag} {value}", "error", [g, flag, value], stderr=[fragment])
    case("as_of_far_after_data", "options", "--as-of 2030-01-01 on 2023 data", "warning",
         [g, "--as-of", "2030-01-01"], stderr=["2030-01-01"])
    case("clusters_more_than_customers", "options", "--clusters 50 on 12 customers", "warning",
         [g, "--clusters", "50"], checks={"customers": 12})
    _write("not_a_folder", "I am a file, not a folder.\n")
    case("out_is_a_file", "options", "--out naming an existing file", "error", [g],
         stderr=["not_a_folder"], checks={"out": "files/not_a_folder"})
    _write("map_broken.yaml", "segments: [unclosed\n")
    case("segment_map_unparseable", "options", "a segment map that is not YAML", "error",
         [g, "--segment-map", "files/map_broken.yaml"], stderr=["map_broken.yaml"])
    _write("map_code.yaml", "!!python/object/apply:os.system ['touch PWNED']\n")
    case("segment_map_runs_no_code", "injection", "a YAML segment map with a Python tag",
         "error", [g, "--segment-map", "files/map_code.yaml"], stderr=["map_code.yaml"],
         checks={"no_file": "PWNED"})
    _write("map_deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    case("segment_map_deeply_nested", "injection", "a YAML segment map nested 50,000 deep",
         "error", [g, "--segment-map", "files/map_deep.yaml"], stderr=["map_deep.yaml"])

    # --- model files ----------------------------------------------------------------------------
    pickled = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94."
    latin_model = '{"format": "rfmkit-model", "n\u00e4me": 1}'.encode("latin-1")
    for name, data in [("model_latin1.json", latin_model),
                       ("model_truncated.json", b'{"format": "rfmkit-model", "version": '),
                       ("model_deep.json", b"[" * 100_000 + b"]" * 100_000),
                       ("model_not_a_model.json", b'{"hello": "world"}'),
                       ("model_pickle.json", pickled)]:
        f = _write(name, data)
        case(name.removesuffix(".json"), "model", f"--model {name}", "error",
             [g, "--model", f], stderr=[name], command="score")

    # --- injection ------------------------------------------------------------------------------
    hostile = 'cust"; DROP TABLE t; --'
    quoted = hostile.replace('"', '""')
    f = _write("hostile_columns.csv", _csv(good, f'"{quoted}",order_id,order_date,amount\n'))
    case("hostile_column_name", "injection", "a customer column named like SQL injection",
         "silent", [f, "--customer", hostile], checks={"customers": 12})
    f = _write("html_ids.csv", _csv([(f"<script>alert({c[1:]})</script>", o, d, a)
                                     for c, o, d, a in good]))
    case("html_in_customer_ids", "injection", "customer ids holding <script> tags", "silent",
         [f], checks={"customers": 12, "report_has_no": "<script>alert("})
    return cases


DOC = HERE.parents[2] / "docs" / "data-quality.md"
BEGIN = "<!-- corpus table: generated by tests/data/bad/generate.py -->"
END = "<!-- end of corpus table -->"


def corpus_table(cases: list[dict]) -> str:
    """The policy table of docs/data-quality.md: input, behaviour and test of every case."""
    lines = ["| case | input | behaviour | test |", "|---|---|---|---|"]
    for c in cases:
        test = f"`test_bad_inputs.py::test_bad_input[{c['id']}]`"
        text = c["input"].replace("|", "¦")
        lines.append(f"| `{c['id']}` | {text} | {c['behaviour']} | {test} |")
    return "\n".join(lines)


def with_table(doc: str, cases: list[dict]) -> str:
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{corpus_table(cases)}\n{END}{tail}"


def main() -> None:
    cases = build()
    (HERE / "cases.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    DOC.write_text(with_table(DOC.read_text(encoding="utf-8"), cases), encoding="utf-8")
    print(f"{len(cases)} cases, {len(list(FILES.iterdir()))} files in {FILES}", file=sys.stderr)


if __name__ == "__main__":
    main()
