"""Inference cases as data: tests/inference/<a sentence>.yaml.

Each case lists the observed bodies (in order) and what is expected of the inferred contract: the
matching `rules` (always), and optionally the `example` (default: the first body) and `evidence`
entries. `rule_file` is a rule file applied on top of the defaults; the endpoint is GET /items/{id}.
`side: request` makes the bodies requests (the example is then the first one as sent).
"""

from pathlib import Path

import pytest
import yaml

from recorder.infer.matchers import infer_body
from recorder.infer.observation import Context
from recorder.infer.shapes import shape_builder
from recorder.model import InteractionKey
from recorder.rules import load

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

CASES = sorted((Path(__file__).parent / "inference").glob("*.yaml"))


def run(case: dict, tmp_path: Path):
    rules_file = tmp_path / "case-rules.yaml"
    rules_file.write_text(yaml.safe_dump(case.get("rule_file", {})))
    rules = load([rules_file])
    builder = shape_builder(rules)
    for body in case["observed"]:
        builder.add_object(body)
    side = case.get("side", "response")
    overrides = Context(rules).overrides(InteractionKey("/items/{id}", "GET", 200, ""), side)
    return infer_body(builder.to_schema(), case["observed"][0], rules, overrides, verbatim=side == "request")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_inference_case(path, tmp_path):
    case = yaml.safe_load(path.read_text())
    example, rules, evidence = run(case, tmp_path)
    assert rules == case["rules"]
    assert example == case.get("example", case["observed"][0])
    for at, facts in case.get("evidence", {}).items():
        assert evidence[at] == facts


def test_every_inferred_matcher_says_why():
    builder = shape_builder()
    body = {"id": 1, "at": "2024-05-01T10:00:00Z", "tags": ["a"], "n": None}
    builder.add_object(body)
    builder.add_object({**body, "n": 2.5})
    _, rules, evidence = infer_body(builder.to_schema(), body)
    assert set(rules) <= set(evidence)
    assert evidence["$.at"] == {"by": "format date-time", "samples": 2, "distinct": 1, "matcher": "regex"}
    assert evidence["$.n"] == {"by": "shape number", "samples": 2, "distinct": 1, "null": 1, "matcher": "number"}
