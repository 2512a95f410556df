"""Real third-party pairs: a server from PyPI recorded while its client library's own test suite runs
(unmodified), then the pact verified against the same server started empty with
`--states-from-recording` and no state code (bench/thirdparty/; docs/pairs.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("pair", ["kinto", "radicale"])
def test_a_real_pair_verifies_from_empty_with_states_from_the_recording(pair, tmp_path):
    figures_file = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "thirdparty" / f"{pair}.py"),
            "--no-direct",
            "--json",
            str(figures_file),
            "--",
            "--states-from-recording",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    recorded = figures["recorded"]
    assert recorded["failed"] == 0 and recorded["errors"] == 0, recorded  # the suite passes through the recorder
    verify = figures["verify"]
    assert verify["total"] >= 30, verify  # kinto: 86, radicale: 37 (its .ics files are one endpoint)
    assert verify["green"] / verify["total"] >= 0.95, result.stdout[-4000:]
