"""Self-verification (issue 13): before a pact is written, the Pact core verifies it against the
responses it was recorded from; what fails there is loosened, with the reason in the evidence, so no
pact the recorder writes fails against its own recording."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from recorder import rules as rule_files
from recorder.record.pipeline import Recording, Settings
from tests.helpers import exchange
from tests.test_fresh_provider import failures, interaction, verified

PRICES = [
    {"items": [{"price": 3, "name": "tea"}, {"price": 4, "name": "cake"}]},
    {"items": [{"price": 5, "name": "scone"}]},
]


def written(tmp_path: Path, exchanges, rules: dict | None = None, self_check: bool = True) -> tuple[Path, Recording]:
    files = []
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
        files.append(tmp_path / "rules.yaml")
    out = tmp_path / ("checked" if self_check else "unchecked")
    recording = Recording(Settings("c", "p", out, rules=rule_files.load(files), self_check=self_check))
    for ex in exchanges:
        recording.add(ex)
    return recording.write()[0], recording


def green_against_each(pact: Path, bodies: list, headers: dict | None = None) -> None:
    for body in bodies:
        result = verified(pact, lambda *_, body=body: (200, headers or {}, body))
        assert result.ok, failures(result)


def test_a_field_rule_the_recording_contradicts_is_loosened_to_a_type_rule_that_names_it(tmp_path):
    decimal = {"fields": [{"name": "prices-are-decimal", "path": "$.items[*].price", "match": "decimal"}]}
    pact, recording = written(tmp_path, [exchange("GET", "/items", 200, body) for body in PRICES], decimal)

    got = interaction(pact, "GET /items returns 200")
    assert got["response"]["matchingRules"]["body"]["$.items[*].price"]["matchers"] == [{"match": "type"}]
    why = got["comments"]["pactRecorder"]["evidence"]["response.body"]["$.items[*].price"]["by"]
    assert "self-check" in why and "to be a decimal number" in why and "prices-are-decimal" in why
    assert "self-check: 1 interaction(s) failed against their own recorded responses" in recording.summary()
    assert json.loads(pact.read_text())["metadata"]["pactRecorder"]["diagnostics"]["loosenedBySelfCheck"] == 1

    green_against_each(pact, PRICES)
    retyped = verified(pact, lambda *_: (200, {}, {"items": [{"price": "3.00", "name": "tea"}]}))
    assert not retyped.ok  # loosened to the recorded type, not left out


def test_a_header_rule_the_recording_contradicts_leaves_the_header_out(tmp_path):
    versioned = {
        "headers": [{"name": "api-version", "headers": ["x-api-version"], "action": "regex", "regex": "^v[0-9]+$"}]
    }
    sent = [
        exchange(
            "GET",
            "/ping",
            200,
            {"ok": True},
            response_headers=(("Content-Type", "application/json"), ("X-Api-Version", "2.1")),
        )
    ]
    pact, _ = written(tmp_path, sent, versioned)

    got = interaction(pact, "GET /ping returns 200")
    assert "X-Api-Version" not in got["response"].get("headers", {})
    left_out = got["comments"]["pactRecorder"]["evidence"]["response.headers"]["X-Api-Version"]["by"]
    assert left_out.startswith("left out: self-check") and "api-version" in left_out
    green_against_each(pact, [{"ok": True}], {"X-Api-Version": "2.1"})


def test_a_pact_that_passes_against_its_recording_is_written_unchanged(tmp_path):
    traffic = [
        exchange("GET", "/users/1", 200, {"id": 1, "name": "ada", "tags": ["a", "b"], "email": None}),
        exchange("GET", "/users/2", 200, {"id": 2, "name": "grace", "tags": [], "email": "g@example.com"}),
        exchange(
            "GET", "/users", 200, [{"id": 1, "at": "2024-05-01T10:00:00+0000"}, {"id": 2, "at": "2024-05-02T10:00:00Z"}]
        ),
        exchange("POST", "/users", 201, {"id": 3}, request_body={"name": "joan"}),
        exchange("GET", "/users/9", 404, {"detail": "no such user", "code": 404}),
    ]
    checked, recording = written(tmp_path, traffic)
    unchecked, _ = written(tmp_path, traffic, self_check=False)
    assert recording.loosened == 0
    assert checked.read_bytes() == unchecked.read_bytes()


def test_the_example_is_a_typical_request_not_the_first(tmp_path):
    """A lone curl before the suite is not the example of what the suite sent 3 times."""
    curl = exchange("GET", "/cal/1000", 200, {"ok": True}, request_headers=(("Accept", "*/*"),))
    suite = [
        exchange(
            "GET",
            f"/cal/{1001 + n}",
            200,
            {"ok": True},
            request_headers=(("Accept", "application/json"), ("Depth", "1")),
        )
        for n in range(3)
    ]
    pact, _ = written(tmp_path, [curl, *suite])
    (got,) = json.loads(pact.read_text())["interactions"]
    assert got["request"]["path"] == "/cal/1001"
    assert got["request"]["headers"] == {"Accept": ["application/json"], "Depth": ["1"]}


def test_an_xml_list_shorter_in_another_recorded_response_keeps_its_minimum_and_stays_checked(tmp_path):
    both = '<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href></D:response><D:response><D:href>/b</D:href></D:response></D:multistatus>'
    one = '<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href></D:response></D:multistatus>'
    xml = (("Content-Type", "application/xml"),)
    sent = [exchange("PROPFIND", "/cal/", 207, response_headers=xml, raw_body=body.encode()) for body in (both, one)]
    pact, recording = written(tmp_path, sent)

    got = interaction(pact, "PROPFIND /cal/ returns 207")
    assert (
        got["response"]["body"]["content"].count("D:response>") == 2 and recording.loosened == 0
    )  # one, opened and closed
    for body in (both, one):
        result = verified(pact, lambda *_, body=body: (207, {"Content-Type": "application/xml"}, body.encode()))
        assert result.ok, failures(result)
    none = verified(pact, lambda *_: (207, {"Content-Type": "application/xml"}, b'<D:multistatus xmlns:D="DAV:"/>'))
    assert not none.ok  # the list is still checked: one item at least
