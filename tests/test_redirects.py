"""A redirected request is recorded as the consumer sent it, with the response it finally got (issue 13):
the Pact mock serving the pact accepts the consumer's real request, and the verifier, following the
redirect, verifies it green."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from recorder.capture.redirects import Redirects
from recorder.record.pipeline import Recording, Settings
from tests.conftest import mock_serving
from tests.helpers import exchange
from tests.test_fresh_provider import failures, verified

JSON_BODY = (("Content-Type", "application/json"),)


def redirect(method: str, path: str, status: int, location: str, **kw):
    return exchange(method, path, status, response_headers=(("Location", location),), **kw)


def redirected_recording(tmp_path) -> Recording:
    recording = Recording(Settings("web", "api", tmp_path))
    for ex in (
        redirect("POST", "/users", 308, "/users/", request_body={"name": "ada"}),
        exchange("POST", "/users/", 201, {"id": 1}, request_body={"name": "ada"}),
        redirect("GET", "//api/v1/items", 301, "http://127.0.0.1:5001/api/v1/items"),
        exchange("GET", "/api/v1/items", 200, [{"id": 1}]),
    ):
        recording.add(ex)
    return recording


@pytest.mark.unit
def test_the_interaction_holds_the_path_the_consumer_asked_for_and_the_final_response(tmp_path):
    recording = redirected_recording(tmp_path)
    found = {(i.method, i.path, i.status): i for i in recording.interactions()}
    assert set(found) == {("POST", "/users", 201), ("GET", "//api/v1/items", 200)}
    assert found["POST", "/users", 201].request.body == {"name": "ada"}
    assert "redirected to /users/" in found["POST", "/users", 201].notes[0]
    assert dict(recording.skipped) == {"excluded by select rule 'followed-redirects'": 2}


@pytest.mark.unit
def test_a_chain_of_redirects_pairs_the_last_response_with_the_first_request():
    redirects, sent = Redirects(), redirect("GET", "/a", 302, "/b?x=1")
    redirects.remember(sent, sent)
    middle = redirect("GET", "/b", 302, "c", query=(("x", "1"),))
    paired = redirects.original(middle)
    assert (paired.path, paired.status) == ("/a", 302)
    redirects.remember(paired, middle)  # c is relative to /b, where the consumer was sent
    final = redirects.original(exchange("GET", "/c", 200, {"ok": True}))
    assert (final.path, final.status, final.redirected) == ("/a", 200, "/c")
    unrelated = exchange("GET", "/c", 200, {"ok": True})
    assert redirects.original(unrelated) is unrelated  # paired once


@pytest.mark.unit
def test_redirects_nobody_followed_are_forgotten_oldest_first():
    redirects = Redirects(limit=2)
    for n in range(3):
        sent = redirect("GET", f"/old{n}", 301, f"/new{n}")
        redirects.remember(sent, sent)
    assert redirects.original(exchange("GET", "/new0", 200, {})).path == "/new0"
    assert redirects.original(exchange("GET", "/new2", 200, {})).path == "/old2"


def test_the_mock_accepts_what_the_consumer_really_sent(tmp_path, mock_master):
    pact = redirected_recording(tmp_path).write()[0]
    port = mock_serving(mock_master, pact)

    def send(method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        headers = (
            dict(JSON_BODY) | {"Accept": "application/json"} if body is not None else {"Accept": "application/json"}
        )
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    assert send("POST", "/users", {"name": "ada"}) == (201, {"id": 1})
    assert send("GET", "//api/v1/items") == (200, [{"id": 1}])


def test_the_verifier_follows_the_redirect_to_the_recorded_response(tmp_path):
    pact = redirected_recording(tmp_path).write()[0]

    def provider(method, path, headers, body):
        if path in ("/users", "//api/v1/items"):
            return 308, {"Location": path.replace("//", "/").rstrip("/") + ("/" if path == "/users" else "")}, {}
        if (method, path) == ("POST", "/users/") and json.loads(body) == {"name": "ada"}:
            return 201, {}, {"id": 7}
        if (method, path) == ("GET", "/api/v1/items"):
            return 200, {}, [{"id": 3}, {"id": 4}]
        return 400, {}, {"error": f"{method} {path}"}

    result = verified(pact, provider)
    assert result.ok, failures(result)


@pytest.mark.unit
def test_a_saved_flow_of_a_followed_redirect_is_the_consumers_own_request(tmp_path):
    from mitmproxy.test import tflow

    from recorder.capture.flows import redacted_copy, to_exchange

    recording = Recording(Settings("web", "api", tmp_path))
    first = tflow.tflow(resp=True)
    first.request.method, first.request.path = "POST", "/users"
    first.response.status_code, first.response.headers["Location"] = 308, "/users/"
    follow = tflow.tflow(resp=True)
    follow.request.method, follow.request.path = "POST", "/users/"
    assert recording.add(to_exchange(first)) is None
    saved = redacted_copy(follow, recording.add(to_exchange(follow)))
    assert (saved.request.method, saved.request.path, saved.response.status_code) == ("POST", "/users", 200)
