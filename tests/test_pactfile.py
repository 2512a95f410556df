"""Documents built from exchanges: deterministic, and accepted by the Pact core's own parser."""

import json
import random
from pathlib import Path

import pytest
import yaml

from recorder.pact.core_parser import check
from recorder.pact.document import dumps, pact_document, states_document, states_hints
from recorder.record.pipeline import Recording, Settings
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

TRAFFIC = [
    exchange("GET", "/users", 200, {"items": [{"id": 1, "name": "a"}], "count": 1}),
    exchange("GET", "/users/1", 200, {"id": 1, "name": "a", "score": 1.5, "nick": None}),
    exchange("GET", "/users/2", 200, {"id": 2, "name": "b", "score": 2, "nick": "bee"}),
    exchange("GET", "/users/9", 404, {"error": "not found"}),
    exchange(
        "POST",
        "/users",
        201,
        {"id": 3},
        request_body={"name": "c"},
        response_headers=(("Content-Type", "application/json"), ("Location", "/users/3")),
    ),
    exchange(
        "GET", "/odd", 200, {"with space": 1, "it's": 2, "ünï": "x"}, query=(("page", "2"), ("tag", "a"), ("tag", "b"))
    ),
    exchange("DELETE", "/users/3", 204),
    exchange("GET", "/text", 200, raw_body=b"hello", response_headers=(("Content-Type", "text/plain"),)),
    exchange("GET", "/logo", 200, raw_body=b"\x89PNG\r\n", response_headers=(("Content-Type", "image/png"),)),
]


def build(exchanges, spec="v4"):
    recording = Recording(Settings("web", "api", Path("unused")))
    for ex in exchanges:
        recording.add(ex)
    interactions = recording.interactions()
    return pact_document("web", "api", interactions, spec), interactions


@pytest.mark.parametrize("spec", ["v4", "v3"])
def test_the_core_accepts_the_document_and_keeps_every_matcher(spec):
    document, _ = build(TRAFFIC, spec)
    view = check(document, dumps(document))
    assert (view.spec, view.interactions) == (spec.upper(), 8)


def test_interactions_are_sorted_and_the_same_traffic_gives_the_same_bytes():
    # The order of exchanges decides provider states (what existed before each), so only the same
    # traffic gives the same bytes; the interactions are in the same order whatever the arrival.
    assert dumps(build(TRAFFIC)[0]) == dumps(build(list(TRAFFIC))[0])
    expected = [i["description"] for i in build(TRAFFIC)[0]["interactions"]]
    for seed in range(5):
        shuffled = TRAFFIC[:]
        random.Random(seed).shuffle(shuffled)
        shuffled.remove(TRAFFIC[1])
        shuffled.insert(0, TRAFFIC[1])  # the first exchange of an interaction is its example
        assert [i["description"] for i in build(shuffled)[0]["interactions"]] == expected


def test_v4_shape():
    document, _ = build(TRAFFIC)
    by_desc = {i["description"]: i for i in document["interactions"]}
    get = by_desc["GET /users/{id} returns 200"]
    assert get["type"] == "Synchronous/HTTP" and get["pending"] is False and len(get["key"]) == 16
    assert get["providerStates"] == [{"name": "user exists", "params": {"user": 1}}]
    assert get["request"]["generators"] == {
        "path": {"type": "ProviderState", "expression": "/users/${user}", "dataType": "STRING"}
    }
    assert get["response"]["body"]["content"] == {"id": 1, "name": "a", "score": 1.5, "nick": "bee"}
    assert get["response"]["matchingRules"]["body"]["$.nick"] == {
        "combine": "OR",
        "matchers": [{"match": "type"}, {"match": "null"}],
    }
    assert get["response"]["matchingRules"]["body"]["$.score"]["matchers"] == [{"match": "number"}]
    assert get["comments"]["text"][0] == "Inferred by pact-recorder from 2 recorded exchange(s)."
    assert by_desc["GET /odd returns 200"]["request"]["query"] == {"page": ["2"], "tag": ["a", "b"]}
    text = by_desc["GET /text returns 200"]
    assert text["response"]["body"] == {"content": "hello", "contentType": "text/plain", "encoded": False}
    assert text["response"]["matchingRules"]["body"] == {"$": {"combine": "AND", "matchers": [{"match": "type"}]}}
    logo = by_desc["GET /logo returns 200"]
    assert "body" not in logo["response"] and "without its content" in logo["comments"]["text"][1]


def test_v3_shape_has_plain_bodies_and_string_headers():
    document, _ = build(TRAFFIC, "v3")
    post = next(i for i in document["interactions"] if i["description"] == "POST /users returns 201")
    assert post["request"]["body"] == {"name": "c"}
    assert post["response"]["headers"]["Location"] == "/users/3"
    assert not {"type", "key", "pending", "comments"} & post.keys()
    assert document["metadata"]["pactSpecification"]["version"] == "3.0.0"


def test_hints_list_each_state_once_with_its_interactions():
    _, interactions = build(TRAFFIC)
    text = states_hints(states_document("web", "api", interactions))
    hints = yaml.safe_load(text)
    names = [(s["name"], s["params"]) for s in hints["states"]]
    assert names.count(("user exists", {"user": 1})) == 1
    assert ("user does not exist", {"user": 9}) in names
    assert (
        "GET /users/{id} returns 200" in next(s for s in hints["states"] if s["name"] == "user exists")["interactions"]
    )


def test_output_is_pretty_printed_with_sorted_keys_and_a_final_newline():
    text = dumps(build(TRAFFIC)[0])
    assert text.endswith("}\n") and text.startswith('{\n  "consumer"')
    assert json.loads(text)
