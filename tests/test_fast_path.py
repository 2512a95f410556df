"""The fast path of shape merging (recorder/infer/shapes.py) infers exactly what the reference strategies do:
the same schema for every inference case, and the same pact, byte for byte, for the review goldens'
traffic, the HAR captures, varying documents like the benchmark's and random documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from recorder.capture.readers import read_flows
from recorder.infer import observation, shapes
from recorder.pact.document import dumps, pact_document
from recorder.record.pipeline import Recording, Settings, record_flow
from recorder.rules import load
from tests.helpers import exchange
from tests.test_matchers import CASES
from tests.test_property import observed_responses
from tests.test_review import traffic

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

DATA = Path(__file__).parent / "data"


def pact_text(feed, out: Path) -> str:
    """The pact a recording fed by `feed(recording)` writes (as text; nothing is written to disk)."""
    recording = Recording(Settings("c", "p", out))
    feed(recording)
    return dumps(pact_document("c", "p", recording.interactions(), "v4", recording.diagnostics()))


def both_paths(feed, out: Path, monkeypatch) -> tuple[str, str]:
    """(the pact through the fast path, the pact through the reference strategies)."""
    fast = pact_text(feed, out)
    with monkeypatch.context() as m:
        m.setattr(observation, "shape_builder", lambda rules=None: shapes.shape_builder(rules, fast=False))
        reference = pact_text(feed, out)
    return fast, reference


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_inference_case_builds_the_same_schema(path, tmp_path):
    case = yaml.safe_load(path.read_text())
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(case.get("rule_file", {})))
    rules = load([rules_file])
    fast, reference = shapes.shape_builder(rules), shapes.shape_builder(rules, fast=False)
    for body in case["observed"]:
        fast.add_object(body)
        reference.add_object(body)
    assert json.dumps(fast.to_schema(), default=str) == json.dumps(reference.to_schema(), default=str)


def test_the_review_goldens_traffic_gives_the_same_pact(tmp_path, monkeypatch):
    def feed(recording):
        for ex in traffic():
            recording.add(ex)

    fast, reference = both_paths(feed, tmp_path, monkeypatch)
    assert '"matchers"' in fast
    assert fast == reference


@pytest.mark.parametrize("har", ["chrome.har", "firefox.har"])
def test_a_har_capture_gives_the_same_pact(har, tmp_path, monkeypatch):
    def feed(recording):
        for flow in read_flows(DATA / har):
            record_flow(recording, flow)

    fast, reference = both_paths(feed, tmp_path, monkeypatch)
    assert '"interactions"' in fast
    assert fast == reference


def varying_document(n: int) -> dict:
    """Nested objects whose ids, timestamps and counters differ in every response, as in bench/proxy.py."""
    return {
        "items": [
            {
                "id": n * 100 + k,
                "request_id": f"{n * 7919 + k:032x}",
                "served_at": f"17000{n:05d}.{k:03d}",
                "score": (n + k) / 4 if k % 3 else n + k,
                "tags": ["a", f"t{(n + k) % 30}"][: 1 + k % 2],
                "owner": {"id": k % 5, "seen": None if (n + k) % 4 else f"2024-05-{1 + k % 28:02d}T10:00:00Z"},
                "links": [{"rel": "self", "href": f"/items/{k}"}] * (k % 3),
                **({"extra": True} if n % 5 == 0 else {}),
            }
            for k in range(12)
        ],
        "count": 12,
    }


def test_varying_documents_give_the_same_pact(tmp_path, monkeypatch):
    def feed(recording):
        for n in range(60):
            recording.add(exchange("GET", f"/items?page={n % 3}", 200, varying_document(n)))

    fast, reference = both_paths(feed, tmp_path, monkeypatch)
    assert fast == reference


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])  # fmt: skip
@given(observed_responses())
def test_random_documents_give_the_same_pact(tmp_path, monkeypatch, documents):
    def feed(recording):
        for doc in documents:
            recording.add(exchange("GET", "/doc", 200, doc))

    fast, reference = both_paths(feed, tmp_path, monkeypatch)
    assert fast == reference
