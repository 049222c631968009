"""rfmkit.errors: install hints that fit how rfmkit was installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rfmkit

SRC = Path(rfmkit.__file__).resolve().parent.parent


def _hint_with(tmp_path: Path, direct_url: dict | None, cwd: Path) -> str:
    """install_hint('spark') in a process whose first rfmkit distribution is a made-up one
    (a dist-info folder on the path, as pip writes it), run from ``cwd``."""
    site = tmp_path / "site"
    info = site / "rfmkit-9.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rfmkit\nVersion: 9.9\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    done = subprocess.run([sys.executable, "-c", "from rfmkit.errors import install_hint; "
                           "print(install_hint('spark'))"], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_from_a_package_index(tmp_path):
    assert _hint_with(tmp_path, None, tmp_path) == "pip install 'rfmkit[spark]'"
    wheel = {"url": "https://files.example/rfmkit-9.9-py3-none-any.whl", "archive_info": {}}
    assert _hint_with(tmp_path / "w", wheel, tmp_path) == "pip install 'rfmkit[spark]'"


@pytest.mark.parametrize("editable", [True, False])
def test_from_a_checkout(tmp_path, editable):
    checkout = tmp_path / "rfmkit-checkout"
    checkout.mkdir()
    direct = {"url": checkout.as_uri(), "dir_info": {"editable": editable}}
    flag = "-e " if editable else ""
    # inside the checkout: the README's "pip install ." with the extra
    assert _hint_with(tmp_path, direct, checkout) == f"pip install {flag}'.[spark]'"
    # elsewhere: the checkout's path
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert (_hint_with(tmp_path / "again", direct, other)
            == f"pip install {flag}'{checkout}[spark]'")
