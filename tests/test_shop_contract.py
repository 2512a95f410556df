"""The richer example: a pact recorded from the orders service goes red when the provider breaks what
the consumer saw, and stays green when it changes only what a contract should not care about."""

from __future__ import annotations

import json
import threading

import pytest

from examples.shop.consumer import exercise
from examples.shop.provider import BREAKING, COMPATIBLE, make_server
from recorder.verify.run import verify
from tests.conftest import record_through, recorder_args

PACT = "shop-web-orders.json"


class Shop:
    def __init__(self, mutate=None):
        self.server = make_server(0, mutate)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pact(tmp_path_factory):
    out = tmp_path_factory.mktemp("shop")
    shop = Shop()
    try:
        record_through(recorder_args(shop.url, out, consumer="shop-web", provider="orders"), exercise)
    finally:
        shop.stop()
    return out / PACT


def verify_against(pact, mutate=None):
    shop = Shop(mutate)
    try:
        return verify(pact, shop.url, f"{shop.url}/_pact/provider_states")
    finally:
        shop.stop()


def test_the_recorded_pact_infers_formats_nullable_and_optional_fields(pact):
    doc = json.loads(pact.read_text())
    order = next(i for i in doc["interactions"] if i["description"] == "GET /orders/{id} returns 200")
    rules = order["response"]["matchingRules"]["body"]
    assert rules["$.id"]["matchers"][1]["regex"].startswith("^[0-9a-fA-F]{8}-")
    assert rules["$.placed_at"]["matchers"][1]["regex"].endswith("([Zz]|[+-][0-9]{2}:?[0-9]{2})$")
    assert rules["$.total"]["matchers"] == [{"match": "type"}, {"match": "regex", "regex": "^-?[0-9]+\\.[0-9]+$"}]
    assert rules["$.lines"]["matchers"] == [{"match": "type", "min": 1}]
    assert rules["$.lines[*].qty"]["matchers"] == [{"match": "integer"}]
    assert rules["$.coupon"] == {"combine": "OR", "matchers": [{"match": "type"}, {"match": "null"}]}
    assert "note" not in order["response"]["body"]["content"]  # optional: only on some orders
    evidence = order["comments"]["pactRecorder"]["evidence"]["response.body"]
    assert evidence["$.note"] == {"optional": True, "present": 1, "of": 3, "by": "left out: not in every response"}
    assert order["providerStates"][0] == {
        "name": "order exists",
        "params": {"order": "7d0c1a52-3f65-4d3a-9c0e-0a8f2b6f4e11"},
    }
    listing = next(i for i in doc["interactions"] if i["description"] == "GET /orders returns 200")
    assert listing["request"]["matchingRules"]["query"] == {
        "page": {"combine": "AND", "matchers": [{"match": "regex", "regex": "^-?[0-9]+$"}]}
    }


def test_the_pact_verifies_green_against_the_provider_started_fresh(pact):
    result = verify_against(pact)
    assert result.ok, [o.problems for o in result.outcomes]
    assert len(result.outcomes) == 3


NAMED = {
    "rename-field": "body $: Actual map is missing the following keys: placed_at",
    "integer-to-string": "body $.number: Expected '1001' (String) to be an integer",
    "timestamp-format": "body $.placed_at: Expected '2024-05-01 10:15:00' to match '^[0-9]{4}-",
    "objects-to-strings": "body $.lines[0]: Type mismatch: Expected 'BOOK-1' (String) to be the same type as {",
    "uuid-to-integer": "body $.id: Expected 1001 (Integer) to be the same type as '7d0c1a52",
}


@pytest.mark.parametrize("mutation", BREAKING, ids=list(BREAKING.values()))
def test_a_breaking_change_makes_the_pact_fail_and_names_the_field(pact, mutation):
    result = verify_against(pact, mutation)
    assert not result.ok
    (item,) = [o for o in result.outcomes if o.description == "GET /orders/{id} returns 200"]
    assert not item.ok
    assert any(p.startswith(NAMED[mutation]) for p in item.problems), item.problems


@pytest.mark.parametrize("mutation", COMPATIBLE, ids=list(COMPATIBLE.values()))
def test_a_change_the_contract_does_not_care_about_keeps_it_green(pact, mutation):
    result = verify_against(pact, mutation)
    assert result.ok, [(o.description, o.problems) for o in result.outcomes if not o.ok]
