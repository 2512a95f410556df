"""The pipeline from exchanges to interactions, with rules: selection, collapse, shapes, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder.record.pipeline import Recording, Settings
from recorder.rules import load
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it


def recording(tmp_path: Path, rules_yaml: str = "") -> Recording:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_yaml)
    return Recording(Settings("web", "api", tmp_path / "out", rules=load([rules])))


def test_excluded_traffic_is_counted_with_the_rule_that_excluded_it(tmp_path):
    r = recording(tmp_path, "select:\n  - {name: health, path: [/health*]}\n")
    r.add(exchange("GET", "/health", 200, {"ok": True}))
    r.add(exchange("OPTIONS", "/users", 204, request_headers=[("Access-Control-Request-Method", "POST")]))
    r.add(exchange("OPTIONS", "/users", 204))  # not a preflight: an API call like any other
    r.add(exchange("GET", "/users/1", 500, {"error": "boom"}))
    r.add(exchange("GET", "/users/1", 200, {"id": 1}))
    assert dict(r.skipped) == {
        "excluded by select rule 'health'": 1,
        "excluded by select rule 'cors-preflight'": 1,
        "excluded by select rule 'server-errors'": 1,
    }
    assert [i.description for i in r.interactions()] == ["OPTIONS /users returns 204", "GET /users/{id} returns 200"]
    assert "5 exchange(s) seen, 2 recorded" in r.summary()


def test_include_rules_record_only_what_they_match(tmp_path):
    r = recording(tmp_path, "select:\n  - {name: users-only, action: include, path: ['/users*']}\n")
    r.add(exchange("GET", "/orders/1", 200, {"id": 1}))
    r.add(exchange("GET", "/users/1", 200, {"id": 1}))
    assert dict(r.skipped) == {"not included by any include rule ('users-only')": 1}
    assert len(r.interactions()) == 1


def test_siblings_collapse_into_a_parameter_and_building_twice_gives_the_same_result(tmp_path):
    r = recording(tmp_path, "paths: {sibling_collapse: 3}\n")
    for page in ("intro", "setup", "faq"):
        r.add(exchange("GET", f"/docs/{page}", 200, {"title": page}))
    r.add(exchange("GET", "/v1/status", 200, {}))
    first = [(i.description, i.exchanges) for i in r.interactions()]
    assert first == [("GET /docs/{id} returns 200", 3), ("GET /v1/status returns 200", 1)]
    assert [(i.description, i.exchanges) for i in r.interactions()] == first


def test_siblings_of_a_parameter_guessed_from_its_name_are_parameters_too(tmp_path):
    r = recording(tmp_path)
    for name in ("urllib3", "certifi", "idna", "requests"):
        r.add(exchange("GET", f"/simple/{name}/", 200, {"name": name}))
    r.add(exchange("GET", "/users/7", 200, {"id": 7}))
    r.add(exchange("GET", "/users/me", 200, {"id": 7}))  # an integer is no guess: me stays a name
    (simple, *users) = r.interactions()
    assert (simple.description, simple.exchanges) == ("GET /simple/{id}/ returns 200", 4)
    assert simple.request.rules["path"] == [{"match": "regex", "regex": "^/simple/[^/]+/$"}]
    assert sorted(i.description for i in users) == ["GET /users/me returns 200", "GET /users/{id} returns 200"]


def test_leaf_names_with_an_extension_are_one_endpoint_per_extension(tmp_path):
    r = recording(tmp_path)
    for uid in ("1b7c0c1e-5d3f-4a6e-9b2c-7f1e2d3c4b5a", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"):
        r.add(exchange("PUT", f"/cal/{uid}.ics", 201, {"ok": True}))
    r.add(exchange("PUT", "/cal/0a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.json", 201, {"ok": True}))
    ics, json_ = r.interactions()
    assert (ics.description, ics.exchanges) == ("PUT /cal/{id}.ics returns 201", 2)
    assert ics.request.rules["path"][0]["regex"].endswith(r"[0-9a-fA-F]{12}\.ics$")
    assert (json_.description, json_.exchanges) == ("PUT /cal/{id}.json returns 201", 1)


def test_requests_with_other_body_keys_are_other_interactions_with_readable_descriptions(tmp_path):
    r = recording(tmp_path)
    r.add(exchange("POST", "/users", 201, {"id": 1}, request_body={"name": "a"}))
    r.add(exchange("POST", "/users", 201, {"id": 2}, request_body={"name": "b", "email": "b@x.io"}))
    r.add(exchange("POST", "/users", 201, {"id": 3}, request_body={"name": "c"}))
    assert sorted((i.description, i.exchanges) for i in r.interactions()) == [
        ("POST /users returns 201 (body email, name)", 1),
        ("POST /users returns 201 (body name)", 2),
    ]


def test_query_values_that_varied_get_matchers_that_accept_every_value_seen(tmp_path):
    r = recording(tmp_path)
    for page, sort in (("1", "name"), ("2", "email"), ("3", "name")):
        r.add(exchange("GET", "/users", 200, {"items": []}, query=(("page", page), ("sort", sort), ("v", "x"))))
    (i,) = r.interactions()
    assert i.request.rules["query"] == {
        "page": [{"match": "regex", "regex": "^-?[0-9]+$"}],
        "sort": [{"match": "regex", "regex": "^(email|name)$"}],
    }
    assert i.query == {"page": ["1"], "sort": ["name"], "v": ["x"]}


def test_secret_headers_from_the_rules_are_redacted_and_keep_their_shape(tmp_path):
    r = recording(tmp_path, "headers:\n  - {name: team-token, headers: [x-team-token], action: secret}\n")
    r.add(exchange(request_headers=(("Authorization", "Bearer abc.def.ghi"), ("X-Team-Token", "t0ps3cret"))))
    (i,) = r.interactions()
    assert i.request.headers == {"Authorization": "Bearer <redacted>", "X-Team-Token": "<redacted>"}
    assert i.request.rules["header"] == {
        "Authorization": [{"match": "regex", "regex": "^Bearer .+$"}],
        "X-Team-Token": [{"match": "regex", "regex": "^.+$"}],
    }


def test_an_empty_recording_names_the_rule_that_excluded_everything(tmp_path):
    r = recording(tmp_path, "select:\n  - {name: health, path: [/health*]}\n")
    r.add(exchange("GET", "/health", 200, {"ok": True}))
    r.add(exchange("GET", "/healthz", 200, {"ok": True}))
    assert r.write_and_report().endswith(
        "Nothing was recorded, so no pact was written: every exchange was skipped: excluded by select rule 'health'."
    )


def test_echoed_request_headers_the_contract_does_not_send_are_left_out(tmp_path):
    """httpbin-style echoes: the verifier's client sends no Connection or User-Agent of ours, so a
    contract expecting them back would fail against the very provider it was recorded from."""
    r = recording(tmp_path)
    sent = [("Accept", "application/json"), ("Connection", "keep-alive"), ("User-Agent", "python-requests/2")]
    echoed = {"Accept": "application/json", "Connection": "keep-alive", "User-Agent": "python-requests/2"}
    body = {"headers": echoed, "who": {"Accept": "x", "name": "not an echo: name is no header"}}
    r.add(exchange("GET", "/headers", 200, body, request_headers=sent))
    (interaction,) = r.interactions()
    assert interaction.request.headers == {"Accept": "application/json"}
    assert interaction.response.body["headers"] == {"Accept": "application/json"}
    assert interaction.response.body["who"] == body["who"]
    facts = interaction.evidence["response.body"]
    assert facts["$.headers.Connection"]["by"] == "left out: echoes a request header the contract does not send"
