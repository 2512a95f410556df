"""`pact-recorder diff`: each kind of change with its classification and the exit code (cases as data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from recorder.cli import main

CASES = yaml.safe_load((Path(__file__).parent / "diff_cases.yaml").read_text())["cases"]


def pact(interactions) -> dict:
    return {
        "consumer": {"name": "c"},
        "provider": {"name": "p"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_diff_case(case, tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(pact(case["old"])))
    new.write_text(json.dumps(pact(case["new"])))
    assert main(["diff", str(old), str(new), "--format", "json"]) == case["exit"]
    changes = [[c["classification"], c["what"]] for c in json.loads(capsys.readouterr().out)]
    assert changes == case["changes"]


def test_markdown_for_a_pull_request_and_bad_input(tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(pact(CASES[5]["old"])))
    new = tmp_path / "new.json"
    new.write_text(json.dumps(pact(CASES[5]["new"])))
    assert main(["diff", str(old), str(new), "--format", "md"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("## Pact diff:") and "| ❌ breaking | GET /users/{id} returns 200 |" in md
    assert main(["diff", str(old), str(tmp_path / "missing.json")]) == 2
    assert "missing.json: cannot read the pact" in capsys.readouterr().err
