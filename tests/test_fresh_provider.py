"""The contract asks only what a fresh provider can answer (issue 13), judged by the Pact core.

Each test records exchanges as a consumer saw them, writes the pact, and verifies it against a
provider that answers as a fresh start of the same provider would: other counts, other orders of a
set, other hosts and cursors, `5` where `4.5` was recorded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.jsonserver import JsonHandler, serving
from recorder.model import Exchange
from recorder.record.pipeline import Recording, Settings
from recorder.secrets.fill import Secrets
from recorder.verify.run import Verification, verify
from tests.helpers import exchange

# (method, path with query, request headers, request body) -> (status, response headers, JSON body)
Answer = Callable[[str, str, dict, bytes], tuple[int, dict, object]]


def recorded(tmp_path: Path, exchanges: list[Exchange]) -> Path:
    """The pact written from `exchanges`, as `record` would write it."""
    recording = Recording(Settings("c", "p", tmp_path))
    for ex in exchanges:
        recording.add(ex)
    return recording.write()[0]


def verified(pact: Path, answer: Answer, secrets: Secrets | None = None) -> Verification:
    """Verify `pact` against a provider that answers every request with `answer` (a JSON document, or
    bytes sent as they are with the Content-Type `answer` gives)."""

    class Provider(JsonHandler):
        def respond(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            status, headers, doc = answer(self.command, self.path, dict(self.headers), body)
            if not isinstance(doc, bytes):
                return self.send_json(status, doc, headers)
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(doc))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(doc)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_PROPFIND = respond

    with serving(Provider) as url:
        return verify(pact, url, secrets=secrets)


def failures(result: Verification) -> list:
    return [(o.description, o.problems) for o in result.outcomes if not o.ok]


def interaction(pact: Path, description: str) -> dict:
    doc = json.loads(pact.read_text())
    return next(i for i in doc["interactions"] if i["description"] == description)


# -- numbers, date-times, nulls and arrays ------------------------------------------------------------


def test_a_provider_sending_5_where_4_5_was_recorded_verifies_green(tmp_path):
    pact = recorded(tmp_path, [exchange("GET", "/rating", 200, {"rating": 4.5})])
    result = verified(pact, lambda *_: (200, {}, {"rating": 5}))
    assert result.ok, failures(result)


def test_a_date_time_with_a_plus_0000_offset_gets_the_date_time_matcher(tmp_path):
    pact = recorded(tmp_path, [exchange("GET", "/clock", 200, {"at": "2024-05-01T10:00:00+0000"})])
    rules = interaction(pact, "GET /clock returns 200")["response"]["matchingRules"]["body"]["$.at"]["matchers"]
    assert rules[1]["regex"].endswith("([Zz]|[+-][0-9]{2}:?[0-9]{2})$")
    fresh = verified(pact, lambda *_: (200, {}, {"at": "2031-12-24T23:59:59+0100"}))
    assert fresh.ok, failures(fresh)
    not_a_date = verified(pact, lambda *_: (200, {}, {"at": "tomorrow"}))
    assert not not_a_date.ok


def test_a_field_only_ever_null_lets_the_provider_send_a_value(tmp_path):
    pact = recorded(tmp_path, [exchange("GET", "/me", 200, {"name": "ada", "email": None})])
    evidence = interaction(pact, "GET /me returns 200")["comments"]["pactRecorder"]["evidence"]["response.body"]
    assert evidence["$.email"]["by"] == "left out: only ever null, its type is unknown"
    result = verified(pact, lambda *_: (200, {}, {"name": "bob", "email": "bob@example.com"}))
    assert result.ok, failures(result)


def test_a_tuple_in_an_array_stays_a_tuple_and_verifies_against_other_values(tmp_path):
    series = {"values": [[1435781451.781, "1"], [1435781466.781, "2"]]}
    pact = recorded(tmp_path, [exchange("GET", "/query_range", 200, series)])
    body = interaction(pact, "GET /query_range returns 200")["response"]["body"]["content"]
    assert body == series
    fresh = {"values": [[1700000000.5, "7"], [1700000015.5, "8"], [1700000030.5, "9"]]}
    result = verified(pact, lambda *_: (200, {}, fresh))
    assert result.ok, failures(result)


# -- requests are what the consumer sent -------------------------------------------------------------

PATCH = [{"op": "replace", "path": "/name", "value": "Ada"}, {"op": "add", "path": "/tags/-", "value": "x"}]


def test_a_two_operation_json_patch_replays_exactly_and_verifies_green(tmp_path):
    def patching(ops):
        return exchange("PATCH", "/profile", 200, {"ok": True}, request_body=ops)

    pact = recorded(tmp_path, [patching(PATCH), patching([{"op": "remove", "path": "/nick"}])])
    request = interaction(pact, "PATCH /profile returns 200")["request"]
    assert request["body"]["content"] == PATCH

    def strict(method, path, headers, body):  # a provider that rejects any other patch, as a real one would
        return (200, {}, {"ok": True}) if json.loads(body) == PATCH else (400, {}, {"error": "bad patch"})

    result = verified(pact, strict)
    assert result.ok, failures(result)


# -- response headers ---------------------------------------------------------------------------------

JSON = (("Content-Type", "application/json"),)
EXPOSED = ["X-Total-Count", "Link", "ETag", "X-Request-Id"]


def test_a_provider_that_shuffles_a_set_valued_header_verifies_green_on_two_differently_ordered_runs(tmp_path):
    sent = (("Accept", "application/json"), ("Origin", "https://app.example"))
    headers = (*JSON, ("Access-Control-Expose-Headers", ", ".join(EXPOSED)), ("X-Features", "a, b, c"))
    reordered = (*JSON, ("Access-Control-Expose-Headers", ", ".join(EXPOSED)), ("X-Features", "c, a, b"))
    pact = recorded(
        tmp_path,
        [
            exchange("GET", "/docs", 200, {"n": 1}, request_headers=sent, response_headers=headers),
            exchange("GET", "/docs", 200, {"n": 2}, request_headers=sent, response_headers=reordered),
        ],
    )
    for order in ([2, 0, 3, 1], [3, 1, 0, 2]):  # as a set's iteration order changes between starts
        exposed = ", ".join(EXPOSED[i] for i in order)
        features = ", ".join("abc"[i] for i in order[:3] if i < 3) or "b, a, c"
        answer = {"Access-Control-Expose-Headers": exposed, "X-Features": features}
        result = verified(pact, lambda *_, h=answer: (200, h, {"n": 3}))
        assert result.ok, failures(result)


def test_a_list_whose_count_and_next_page_headers_change_verifies_green(tmp_path):
    recorded_at = "http://127.0.0.1:5001"
    headers = (
        *JSON,
        ("X-Total-Count", "2"),
        ("Link", f'<{recorded_at}/items?page_token=Q2xpZW50MQ>; rel="next"'),
        ("X-Next-Page", f"{recorded_at}/items?page_token=Q2xpZW50MQ"),
        ("ETag", 'W/"5f2-abc"'),
        ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
    )
    pact = recorded(tmp_path, [exchange("GET", "/items", 200, [{"id": 1}, {"id": 2}], response_headers=headers)])

    def fresh(method, path, headers, body):
        elsewhere = "http://10.0.0.7:8080"
        return (
            200,
            {
                "X-Total-Count": "3",
                "Link": f'<{elsewhere}/items?page_token=b3RoZXI>; rel="next"',
                "X-Next-Page": f"{elsewhere}/items?page_token=b3RoZXI",
                "ETag": '"0a1b2c"',
                "Last-Modified": "Thu, 01 Jan 2026 00:00:00 GMT",
            },
            [{"id": 7}, {"id": 8}, {"id": 9}],
        )

    result = verified(pact, fresh)
    assert result.ok, failures(result)
    rules = interaction(pact, "GET /items returns 200")["response"]["matchingRules"]["header"]
    assert set(rules) >= {"X-Total-Count", "Link", "X-Next-Page", "Etag", "Last-Modified"}
    no_etag = verified(pact, lambda *a: (fresh(*a)[0], {**fresh(*a)[1], "ETag": "unquoted"}, fresh(*a)[2]))
    assert not no_etag.ok  # present by format: an ETag must still be an ETag


# -- redaction keeps the contract replayable -----------------------------------------------------------


def test_an_opaque_cursor_query_parameter_named_like_a_token_replays_as_sent(tmp_path):
    cursor = "Q3Vyc29yT2Zmc2V0MjBBbmRTb21lTW9yZUJ5dGVzMTIz"
    pact = recorded(tmp_path, [exchange("GET", "/docs", 200, {"docs": []}, query=(("next_token", cursor),))])

    def paging(method, path, headers, body):  # a provider answers 400 to a cursor it never gave
        return (200, {}, {"docs": []}) if path.endswith(f"next_token={cursor}") else (400, {}, {"error": "cursor"})

    result = verified(pact, paging)
    assert result.ok, failures(result)


@pytest.mark.unit
def test_a_made_up_basic_credential_is_still_basic_credentials():
    """A credential the provider refused (401) is replayed with a made-up one, which must be refused again:
    a well-formed user:password (a malformed header is ignored, and the request let through)."""
    secrets = Secrets(made={"authorization"})
    entry = {"in": "header", "key": "Authorization", "secret": "authorization"}
    scheme, _, credentials = secrets.value(entry, "Basic <redacted>").partition(" ")
    user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    assert (scheme, user) == ("Basic", "pact-recorder") and len(password) >= 16
    assert secrets.value(entry, "Bearer <redacted>").startswith("Bearer ")  # other schemes: the value as made up
    given = Secrets(given={"authorization": "YWxpY2U6czNjcmV0"}, made={"authorization"})
    assert given.value(entry, "Basic <redacted>") == "Basic YWxpY2U6czNjcmV0"  # a given one: as given
