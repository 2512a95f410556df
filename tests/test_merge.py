"""Re-recording into an existing pact (--merge) and marking new interactions pending (--pending)."""

from __future__ import annotations

import json

from recorder.pact.document import dumps
from recorder.record.pipeline import Recording, Settings
from tests.helpers import exchange

HAND_WRITTEN = {
    "description": "a request for the health of the service",
    "request": {"method": "GET", "path": "/health"},
    "response": {"status": 200, "body": {"content": {"ok": True}, "contentType": "application/json", "encoded": False}},
    "type": "Synchronous/HTTP",
}


def record(out, *exchanges, merge=False, pending=False) -> Recording:
    recording = Recording(Settings("web", "api", out, merge=merge, pending=pending))
    for ex in exchanges:
        recording.add(ex)
    recording.report = recording.write_and_report()
    return recording


def test_merge_keeps_hand_written_and_unseen_interactions_and_reports_the_diff(tmp_path):
    record(
        tmp_path, exchange("GET", "/users/1", 200, {"id": 1}), exchange("GET", "/users", 200, {"items": [{"id": 1}]})
    )
    path = tmp_path / "web-api.json"
    pact = json.loads(path.read_text())
    pact["interactions"].append(HAND_WRITTEN)
    path.write_text(dumps(pact))
    block = dumps(HAND_WRITTEN).strip().replace("\n", "\n    ")  # as it is nested in the file
    assert block in path.read_text()

    again = record(tmp_path, exchange("GET", "/users/2", 200, {"id": 2, "name": "b"}), merge=True)
    merged = json.loads(path.read_text())
    by_description = {i["description"]: i for i in merged["interactions"]}
    assert by_description["a request for the health of the service"] == HAND_WRITTEN
    assert block in path.read_text()  # byte for byte
    assert "GET /users returns 200" in by_description  # not seen again: kept
    assert by_description["GET /users/{id} returns 200"]["response"]["body"]["content"] == {"id": 2, "name": "b"}
    assert "NEEDS REVIEW  GET /users/{id} returns 200: response field $.name added" in again.report


def test_pending_marks_only_newly_inferred_interactions(tmp_path):
    first = record(tmp_path, exchange("GET", "/users/1", 200, {"id": 1}), pending=True)
    assert "interaction added" not in first.report  # no previous pact: nothing to compare
    pact = json.loads((tmp_path / "web-api.json").read_text())
    assert [i["pending"] for i in pact["interactions"]] == [True]
    pact["interactions"][0]["pending"] = False  # a reviewer accepted it
    (tmp_path / "web-api.json").write_text(dumps(pact))
    record(
        tmp_path,
        exchange("GET", "/users/1", 200, {"id": 1}),
        exchange("GET", "/orders", 200, []),
        merge=True,
        pending=True,
    )
    pending = {
        i["description"]: i["pending"] for i in json.loads((tmp_path / "web-api.json").read_text())["interactions"]
    }
    assert pending == {"GET /users/{id} returns 200": False, "GET /orders returns 200": True}
