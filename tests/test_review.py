"""The review report: content pinned by goldens (regenerate: UPDATE_GOLDENS=1 make test), the JSON
format round-trips, and a reviewer's decisions become rules that re-inference applies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from recorder.cli import main
from recorder.pipeline import Recording, Settings
from recorder.review import load_review, render_html, render_markdown, render_text
from recorder.rules import load
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
    text = render_text(load_review(pact))
    for flag in (
        "single sample",
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
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


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
