"""`pact-recorder diff`: each kind of change with its classification and the exit code (cases as data);
the cases marked `core` checked against the real Pact core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from examples.jsonserver import JsonHandler, serving
from recorder.cli.commands import main
from recorder.verify.run import verify

CASES = yaml.safe_load((Path(__file__).parent / "diff_cases.yaml").read_text())["cases"]


def pact(interactions) -> dict:
    return {
        "consumer": {"name": "c"},
        "provider": {"name": "p"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }


@pytest.mark.unit
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_diff_case(case, tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(pact(case["old"])))
    new.write_text(json.dumps(pact(case["new"])))
    changed = ["--changed", case["changed"]] if "changed" in case else []
    assert main(["diff", str(old), str(new), "--format", "json", *changed]) == case["exit"]
    changes = [[c["classification"], c["what"]] for c in json.loads(capsys.readouterr().out)]
    assert changes == case["changes"]


CORE_CASES = [c for c in CASES if c.get("core")]


@pytest.mark.parametrize("case", CORE_CASES, ids=[c["name"] for c in CORE_CASES])
def test_the_core_agrees_with_the_classification(case, tmp_path):
    """Non-breaking means the provider side still verifies: with the default reading, a provider that
    answers OLD's example verifies NEW; with --changed provider, the provider now answering NEW's example
    verifies OLD (what the consumer relied on). Breaking means that verification fails."""
    by_provider = case.get("changed") == "provider"
    answers, contract = (case["new"], case["old"]) if by_provider else (case["old"], case["new"])
    response = answers[0]["response"]

    class Provider(JsonHandler):
        def do_GET(self):
            self.send_json(response["status"], response["body"]["content"])

    pact_file = tmp_path / "contract.json"
    pact_file.write_text(json.dumps(pact([{**i, "type": "Synchronous/HTTP", "providerStates": []} for i in contract])))
    with serving(Provider) as url:
        result = verify(pact_file, url)
    problems = [p for o in result.outcomes for p in o.problems] + result.errors
    assert result.ok == (case["exit"] == 0), problems
    assert result.ok or all(p.startswith("body $") for p in problems), problems  # failed on the body


@pytest.mark.unit
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
