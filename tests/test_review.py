"""The review report: content pinned by goldens (regenerate: UPDATE_GOLDENS=1 make test), the JSON
format round-trips, and a reviewer's decisions become rules that re-inference applies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from recorder.cli.commands import main
from recorder.record.pipeline import Recording, Settings
from recorder.rules import load
from recorder.tools.review import flagged, load_review, render_markdown, render_text, threats
from recorder.tools.review_page import render_html
from tests.helpers import exchange

GOLDENS = Path(__file__).parent / "goldens"


def traffic():
    """Exchanges that give a field of every flagged kind."""
    for n in range(12):
        body = {
            "id": n,
            "status": ["active", "blocked"][n % 2],
            "kind": "user",
            "nick": None if n % 3 else f"n{n}",
            "token": f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1{n}In0.c2lnbmF0dXJl",
        }
        if n % 4 == 0:
            body["note"] = "sometimes"
        yield exchange("GET", f"/users/{n + 1}", 200, body)
    yield exchange("GET", "/reports/1", 200, {"total": 3})
    yield exchange("GET", "/logo", 200, raw_body=b"\x89PNG\r\n", response_headers=(("Content-Type", "image/png"),))


@pytest.fixture
def pact(tmp_path) -> Path:
    recording = Recording(Settings("web", "api", tmp_path))
    for ex in traffic():
        recording.add(ex)
    recording.write()
    return tmp_path / "web-api.json"


def golden(name: str, text: str) -> None:
    path = GOLDENS / name
    if os.environ.get("UPDATE_GOLDENS"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; if that is intended, run UPDATE_GOLDENS=1 make test"


def test_text_report_golden(pact):
    golden("review.txt", render_text(load_review(pact)))


def test_markdown_report_golden(pact):
    golden("review.md", render_markdown(load_review(pact)))


def test_every_kind_of_flag_is_shown(pact):
    text = render_text(load_review(pact), width=400)
    for flag in (
        "constant across 12 samples but matched by type",
        "2 distinct values in 12 samples",
        "optional: present in 3 of 12",
        "nullable: null 8 of 12",
        "redacted secret",
        "recorded without its content",
    ):
        assert flag in text, flag
    assert 'fields: [{name: get-users-id-status, endpoint: "GET /users/{id}", path: "$.status", match: enum}]' in text


def test_json_format_round_trips(pact, capsys):
    assert main(["review", str(pact), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(load_review(pact)))


def test_html_is_one_self_contained_page(pact):
    page = render_html(load_review(pact))
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "<script>" in page  # inline only
    assert "http://" not in page and "https://" not in page and " src=" not in page and "<link" not in page


def test_decisions_become_rules_that_reinference_applies(pact, tmp_path, capsys):
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text(
        yaml.safe_dump(
            {
                "GET /users/{id} returns 200": {
                    "$.status": "enum",
                    "$.kind": "equality",
                    "$.id": "accept",
                    "$.token": "ignore",
                }
            }
        )
    )
    rules = tmp_path / "reviewed.yaml"
    assert main(["review", str(pact), "--decisions", str(decisions), "--write-rules", str(rules)]) == 0
    recording = Recording(Settings("web", "api", tmp_path / "again", rules=load([rules])))
    for ex in traffic():
        recording.add(ex)
    recording.write()
    again = json.loads((tmp_path / "again" / "web-api.json").read_text())
    users = next(i for i in again["interactions"] if i["description"] == "GET /users/{id} returns 200")
    body_rules = users["response"]["matchingRules"]["body"]
    assert body_rules["$.status"]["matchers"] == [{"match": "regex", "regex": "^(active|blocked)$"}]
    assert body_rules["$.kind"]["matchers"] == [{"match": "equality"}]
    assert "token" not in users["response"]["body"]["content"]
    flags = render_text(load_review(tmp_path / "again" / "web-api.json"))
    assert "2 distinct values in 12 samples" not in flags and "constant across 12 samples" not in flags


def test_bad_decisions_are_a_clear_error(pact, tmp_path, capsys):
    decisions = tmp_path / "d.yaml"
    decisions.write_text(
        yaml.safe_dump({"GET /nope returns 200": {"$.x": "enum"}, "GET /users/{id} returns 200": {"$.id": "maybe"}})
    )
    assert main(["review", str(pact), "--decisions", str(decisions), "--write-rules", str(tmp_path / "r.yaml")]) == 2
    err = capsys.readouterr().err
    assert "no interaction 'GET /nope returns 200' in web-api.json" in err
    assert "unknown decision 'maybe'" in err and "Traceback" not in err


def test_every_flag_has_its_one_line_rule(pact):
    model = load_review(pact)
    flags = [x for i in model["interactions"] for f in i["fields"] for x in f["flags"]]
    assert len(flags) == flagged(model) == 5
    for x in flags:
        assert x["rule"] and "\n" not in x["rule"], x
        assert x["rule"].startswith(("fields: [{", "secrets: {")), x
    markdown = render_markdown(model)
    assert markdown.count("fields: [{") == 4 and "nullable: null 8 of 12" in markdown


def recorded(tmp_path, exchanges) -> Path:
    recording = Recording(Settings("web", "api", tmp_path))
    for ex in exchanges:
        recording.add(ex)
    recording.write()
    return tmp_path / "web-api.json"


def test_formatted_values_are_never_an_enum_and_a_metadata_map_is_one_flag(tmp_path):
    """Four runs of the same consumer: UUIDs, emails and timestamps seen a few times each are their
    format, not an enum; a map of metric names constant across runs is one flag, not one per key."""
    ids = ["3f2b8c1e-9d4a-4e6b-8f0a-1c2d3e4f5a6b", "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"]
    metrics = {f"metric_{k}": 1 for k in range(15)}

    def run():
        for n in range(6):
            body = {
                "ref": ids[n % 2],
                "email": ["ada@example.com", "grace@example.com"][n % 2],
                "at": ["2024-05-01T10:00:00Z", "2024-06-12T08:30:00Z"][n % 2],
                "metrics": metrics,
            }
            yield exchange("GET", f"/things/{n + 1}", 200, body)

    pact = recorded(tmp_path, [ex for _ in range(4) for ex in run()])
    model = load_review(pact)
    text = render_text(model, width=400)
    assert "an enum?" not in text and "match: enum" not in text
    flags = [(f["path"], x["flag"]) for f in model["interactions"][0]["fields"] for x in f["flags"]]
    assert flags == [
        ("$.metrics", "15 fields below it flagged alike: a map keyed by data? each key is a field of the contract")
    ]
    assert 'path: "$.metrics", match: type}]' in text


def test_a_moment_pinned_in_the_query_is_a_threat(tmp_path):
    pact = recorded(
        tmp_path, [exchange("GET", "/events", 200, {"items": [{"id": 1}]}, query=(("since", "2024-05-01T10:00:00Z"),))]
    )
    text = render_text(load_review(pact), width=400)
    assert "Threats to verification, worst first:\n  [may fail] a moment pinned in the query" in text
    assert "a moment pinned in the query (2024-05-01T10:00:00Z): the verifier sends this exact time again" in text
    assert 'request query since: equality, e.g. "2024-05-01T10:00:00Z"' in text  # and the query is one of its fields


def threatened_pact() -> dict:
    """A hand-written V4 pact: every threat to verification, and array, path, query and header matchers."""

    def http(description, path, status, states=(), request_headers=None, response_headers=None, body=None, rules=None):
        return {
            "type": "Synchronous/HTTP",
            "description": description,
            "providerStates": [{"name": s} for s in states],
            "request": {
                "method": "GET",
                "path": path,
                "query": {"limit": ["10"]},
                "headers": request_headers or {},
                "matchingRules": {
                    "path": {"combine": "AND", "matchers": [{"match": "regex", "regex": "^/stores/[a-z]+$"}]},
                    "query": {"limit": {"combine": "AND", "matchers": [{"match": "regex", "regex": "^[0-9]+$"}]}},
                },
            },
            "response": {
                "status": status,
                "headers": response_headers or {},
                "body": {"content": body or {}, "contentType": "application/json"},
                "matchingRules": {"body": rules or {}},
            },
        }

    items = {"$.items": {"combine": "AND", "matchers": [{"match": "type", "min": 1}]}}
    return {
        "consumer": {"name": "web"},
        "provider": {"name": "api"},
        "interactions": [
            http(
                "GET /stores/main returns 200",
                "/stores/main",
                200,
                ["store exists"],
                {"Authorization": ["Bearer <redacted>"]},
                {"X-Rate-Limit": ["100"]},
                {"items": [{"id": 1}]},
                items,
            ),
            http(
                "GET /stores/main returns 401",
                "/stores/main",
                401,
                ["store exists"],
                {"Authorization": ["Bearer <redacted>"]},
            ),
            # The same request but for a header the verifier sends: the provider can tell them apart.
            http("GET /stores/main returns 304", "/stores/main", 304, ["store exists"], {"If-None-Match": ['"1"']}),
            http("GET /stores/{id} returns 200", "/stores/x", 200),
        ],
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }


@pytest.mark.unit
def test_what_threatens_verification_comes_first_in_every_format(tmp_path):
    pact = tmp_path / "hand.json"
    pact.write_text(json.dumps(threatened_pact()))
    model = load_review(pact)
    text = render_text(model, width=400)
    expected = [
        "[fails] the same request in the same provider states, recorded with other outcomes: 2 interaction(s), "
        "e.g. 'GET /stores/main returns 200', 'GET /stores/main returns 401'",
        "[fails] a resource named in the path, with no provider state that makes it: 1 interaction(s), "
        "e.g. 'GET /stores/{id} returns 200'",
        "[fails] secrets the recording redacted, which verify asks for: 2 interaction(s)",
        "about: Authorization (2)",
        "[may fail] response headers pinned to a value with digits: 1 interaction(s), e.g. 'GET /stores/main returns 200'",
        "fix: headers: [{name: varying-headers, side: response, headers: [x-rate-limit], action: regex, regex: '^.+$'}]",
    ]
    positions = [text.index(line) for line in expected]
    assert positions == sorted(positions) and positions[-1] < text.index("\nGET /stores/main returns 200  [")
    assert "GET /stores/main returns 304', " not in text  # told apart by If-None-Match: no threat
    assert "pact-recorder verify PACT --header 'Authorization: VALUE'" in text
    for report in (text, render_markdown(model), render_html(model)):
        for shown in (
            "request path",
            "request query limit",
            "response header X-Rate-Limit",
            "type min 1",
            "no provider state",
        ):
            assert shown in report, shown


def test_the_account_of_the_run_is_in_every_format(pact):
    model = load_review(pact)
    line = "Recording: 14 exchange(s) seen, 14 recorded; redacted 12: response body $.token"
    assert line in render_text(model) and line in render_markdown(model) and line in render_html(model)


@pytest.mark.unit
def test_pacts_from_other_tools_review_cleanly(tmp_path, capsys):
    """A V4 pact with a message interaction (no request) and a V2 pact (providerState, flat rules)."""
    v4 = tmp_path / "messages.json"
    v4.write_text(
        json.dumps(
            {
                "consumer": {"name": "c"},
                "provider": {"name": "p"},
                "interactions": [
                    {
                        "type": "Asynchronous/Messages",
                        "description": "an order was placed",
                        "providerStates": [{"name": "an order"}],
                        "contents": {"content": {"id": 1}, "contentType": "application/json"},
                    },
                    *threatened_pact()["interactions"][3:],
                ],
                "metadata": {"pactSpecification": {"version": "4.0"}},
            }
        )
    )
    v2 = tmp_path / "v2.json"
    v2.write_text(
        json.dumps(
            {
                "consumer": {"name": "c"},
                "provider": {"name": "p"},
                "interactions": [
                    {
                        "description": "a request for user 1",
                        "providerState": "user 1 exists",
                        "request": {"method": "GET", "path": "/users/1", "query": "page=2&sort=name"},
                        "response": {
                            "status": 200,
                            "body": {"id": 1},
                            "matchingRules": {"$.body.id": {"match": "type"}},
                        },
                    }
                ],
                "metadata": {"pactSpecification": {"version": "2.0.0"}},
            }
        )
    )
    for pact, shown in (
        (
            v4,
            [
                "an order was placed  [Asynchronous/Messages, given an order, hand-written]",
                "[fails] a resource named in the path, with no provider state that makes it",
                "! no provider state: the resource its path names must exist when it is verified",
            ],
        ),
        (
            v2,
            [
                "a request for user 1  [GET /users/1?page=2&sort=name -> 200, given user 1 exists, hand-written]",
                "request query page",
            ],
        ),
    ):
        for fmt in ("text", "md", "html", "json"):
            assert main(["review", str(pact), "--format", fmt]) == 0
            captured = capsys.readouterr()
            assert "Traceback" not in captured.err and "None" not in captured.out, captured
            if fmt == "text":
                for line in shown:
                    assert line in captured.out, captured.out


def test_a_suite_recorded_four_times_reads_as_one_in_the_evidence(tmp_path):
    """Identical exchanges count once: four runs of the same suite give no 'an enum?' or 'constant' flags
    that one run would not, and the interaction says how many of its exchanges differed."""
    from tests.helpers import exchange

    def record(runs: int, out):
        rec = Recording(Settings("c", "p", out))
        for _ in range(runs):
            for uid, role in ((1, "admin"), (2, "reader"), (3, "reader")):
                rec.add(exchange("GET", f"/users/{uid}", 200, {"id": uid, "role": role, "name": f"user {uid}"}))
        return rec.write()[0]

    once, four = record(1, tmp_path / "once"), record(4, tmp_path / "four")
    doc = json.loads(four.read_text())
    (user,) = doc["interactions"]
    assert user["comments"]["pactRecorder"]["exchanges"] == 12 and user["comments"]["pactRecorder"]["distinct"] == 3
    evidence = user["comments"]["pactRecorder"]["evidence"]["response.body"]
    assert (
        evidence
        == json.loads(once.read_text())["interactions"][0]["comments"]["pactRecorder"]["evidence"]["response.body"]
    )
    assert "backed by 12 exchange(s) (3 distinct)" in render_text(load_review(four), width=400)


def test_a_large_pact_opens_with_a_summary_that_names_every_kind_of_threat(tmp_path):
    """220 interactions over 11 resources, with a threat of each kind the recording can show: the summary,
    the threats and the resources fit in one screen, every kind named once however many interactions it
    touches."""
    words = ["orders", "users", "books", "carts", "notes", "tags", "files", "teams", "plans", "jobs", "logs"]
    traffic = []
    for n, word in enumerate(words):
        for k in range(20):  # one interaction per query shape
            json_ct = ("Content-Type", "application/json")
            headers = (json_ct, ("X-Build", "2024.5")) if k == 0 else (json_ct,)
            traffic.append(
                exchange("GET", f"/{word}", 200, {"id": k, "name": f"{word} {k}"}, query=((f"f{k}", "1"),))
                if k
                else exchange("GET", f"/{word}", 200, {"id": k}, response_headers=headers)
            )
        traffic.append(exchange("GET", f"/{word}/export", 200, {"error": "not ready"} if n == 0 else {}))
    traffic.append(exchange("GET", "/events", 200, {"id": 1}, query=(("since", "2024-05-01T10:00:00Z"),)))
    traffic.append(
        exchange("GET", "/logo", 200, raw_body=b"\x89PNG\r\n", response_headers=(("Content-Type", "image/png"),))
    )
    model = load_review(recorded(tmp_path, traffic))
    assert len(model["interactions"]) >= 200
    text = render_text(model)
    head = text.split("\nGET ", 1)[0]  # everything before the first interaction
    assert len(head.splitlines()) < 60, head
    kinds = [c["kind"] for c in threats(model)]
    assert kinds == ["unread-body", "empty-body", "refusal", "pinned-header", "moment"], kinds
    for title in (
        "[hollow] a response body recorded but not checked",
        "[hollow] a response body of which the contract checks no field",
        "[hollow] answered 2xx with a refusal in its body",
        "[may fail] response headers pinned to a value with digits",
        "[may fail] a moment pinned in the query",
    ):
        assert head.count(title) == 1, title


def test_operations_named_inside_the_requests_are_resources_of_their_own(tmp_path):
    """GraphQL over one URL: the review lists each operation as a resource, as the pact's comments name it."""

    def gql(query: str, name: str, data: dict):
        return exchange("POST", "/graphql", 200, {"data": data}, request_body={"query": query, "operationName": name})

    pact = recorded(
        tmp_path,
        [
            gql("query Post($id: ID!) { Post(id: $id) { id title } }", "Post", {"Post": {"id": "1", "title": "t"}}),
            gql('mutation createPost { createPost(title: "t") { id } }', "createPost", {"createPost": {"id": "2"}}),
        ],
    )
    model = load_review(pact)
    assert [r for r, *_ in model["summary"]["resources"]] == ["/graphql mutation createPost", "/graphql query Post"]
    assert "Interactions by resource: /graphql mutation createPost (1), /graphql query Post (1)" in render_text(model)
