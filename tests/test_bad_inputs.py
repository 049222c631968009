"""The bad-input corpus (tests/data/bad/) through the real console command.

Each case has one documented behaviour (docs/data-quality.md): an error (exit code 2, a message
that names the problem and the fix, nothing written or replaced), a warning (exit code 0, the
warning on stderr, dropped rows counted in quality.json) or silence (exit code 0, a correct
result). No case may print a traceback or modify its input.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

BAD = Path(__file__).parent / "data" / "bad"
CASES = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
DOC = Path(__file__).parents[1] / "docs" / "data-quality.md"


def _generator():
    spec = importlib.util.spec_from_file_location("bad_corpus", BAD / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# what a piped run prints to stderr while it works ("    1.2 s  Reading the input")
PROGRESS_LINE = re.compile(r"^ *\d+\.\d s  ")


def _without_progress(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not PROGRESS_LINE.match(line))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}  # no wrapping inside the fragments checked
    return subprocess.run([sys.executable, "-m", "rfmkit", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A copy of the corpus to run in (a case must not write beside the committed files)."""
    work = tmp_path_factory.mktemp("bad")
    shutil.copytree(BAD / "files", work / "files")
    return work


@pytest.fixture(scope="module")
def earlier_run(corpus, tmp_path_factory) -> Path:
    """A good run's outputs: an error case must leave them exactly as they were."""
    out = tmp_path_factory.mktemp("earlier") / "out"
    done = _run(["segment", "files/good.csv", "--out", str(out), "--quiet"], corpus)
    assert done.returncode == 0, done.stderr
    return out


def test_the_corpus_is_what_its_script_writes(tmp_path, monkeypatch):
    generator = _generator()
    monkeypatch.setattr(generator, "FILES", tmp_path / "files")
    assert generator.build() == CASES
    for path in sorted((BAD / "files").iterdir()):
        fresh = tmp_path / "files" / path.name
        if path.suffix in (".xlsx", ".parquet"):  # these embed writer metadata: compare content
            if path.name == "truncated.parquet" or path.name == "garbage.parquet":
                assert fresh.stat().st_size == path.stat().st_size
                continue
            read = (lambda f: pd.read_excel(f, engine="calamine")) if path.suffix == ".xlsx" \
                else pd.read_parquet
            pd.testing.assert_frame_equal(read(fresh), read(path))
        else:
            assert fresh.read_bytes() == path.read_bytes(), path.name
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == sorted(
        p.name for p in (BAD / "files").iterdir())


def test_the_corpus_is_broad():
    assert len(CASES) >= 40
    assert {c["category"] for c in CASES} == {"format", "values", "options", "model", "injection"}
    assert {c["behaviour"] for c in CASES} == {"error", "warning", "silent"}
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_the_policy_documents_every_case():
    """docs/data-quality.md holds the table the script writes: each case, its behaviour, its
    test."""
    generator = _generator()
    doc = DOC.read_text(encoding="utf-8")
    assert generator.with_table(doc, CASES) == doc
    for case in CASES:
        assert f"`{case['id']}` |" in doc and f"| {case['behaviour']} |" in doc


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, corpus, earlier_run, tmp_path):
    checks = case["checks"]
    out = corpus / checks["out"] if "out" in checks else tmp_path / "out"
    if case["behaviour"] == "error" and "out" not in checks:
        shutil.copytree(earlier_run, out)
    before_out = _hashes(out) if out.is_dir() else (out.read_bytes() if out.exists() else None)
    before_in = _hashes(corpus / "files")
    args = [case["command"], *case["argv"], "--out", str(out)]
    if case["command"] == "segment" and case["behaviour"] != "error":
        args += ["--k-max", "4"]  # a shorter k search: the corpus is about inputs, not k
    done = _run(args, corpus)
    said = done.stdout + _without_progress(done.stderr)  # warnings: summary or stderr
    stderr = " ".join(said.split())

    assert "Traceback" not in done.stderr, done.stderr
    assert _hashes(corpus / "files") == before_in, "an input file was modified"
    if case["behaviour"] == "error":
        assert done.returncode == 2, done.stderr
        assert stderr.startswith("Error"), done.stderr
        after = _hashes(out) if out.is_dir() else (out.read_bytes() if out.exists() else None)
        assert after == before_out, "an error replaced or wrote output"
    else:
        assert done.returncode == 0, done.stderr
        # about the input, that is: ties that collapse score bins on these small files are
        # a statement about the scores (CollapsedBinsWarning), reported as usual
        about_input = [w for w in said.split("Warning:")[1:] if not w.lstrip().startswith(
            "Ties in '")]
        assert bool(about_input) == (case["behaviour"] == "warning"), said
    for fragment in case["stderr"]:
        assert fragment.lower() in stderr.lower(), (fragment, said)
    if "no_file" in checks:
        assert not (corpus / checks["no_file"]).exists(), "loading a file ran code"
    if case["behaviour"] != "error":
        _check_outputs(out, checks)


def _check_outputs(out: Path, checks: dict) -> None:
    quality = json.loads((out / "quality.json").read_text())
    customers = pd.read_parquet(out / "customers.parquet")
    if "customers" in checks:
        assert len(customers) == checks["customers"] == quality["customers"]
    if "has_customer" in checks:
        assert checks["has_customer"] in set(customers["customer_id"])
    if "revenue" in checks:
        assert customers["revenue"].sum() == pytest.approx(checks["revenue"], rel=1e-9)
    if "recency_max" in checks:
        assert customers["recency"].max() == checks["recency_max"]
    if "as_of" in checks:
        assert quality["as_of"] == checks["as_of"]
    for reason, count in checks.get("dropped", {}).items():
        assert quality["dropped"][reason] == count, quality["dropped"]
    if "no_segment" in checks:
        assert checks["no_segment"] not in set(customers["segment"])
    if checks.get("min_monetary_positive"):
        assert (customers["monetary"] > 0).all()
    if "report_has_no" in checks:
        assert checks["report_has_no"] not in (out / "report.html").read_text(encoding="utf-8")
