"""Bounded evidence (recorder/infer/sampling.py): once a read's response shape has settled, one body in STRIDE is
read, then fewer. A recording too short to settle gives the pact it always gave; a long one says how many bodies it
read and infers the same matchers; what the shape has not seen makes it read every body again; and
nothing of an unread body reaches a file but redacted values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder.capture.readers import read_flows
from recorder.infer import sampling
from recorder.record.pipeline import Recording, Settings, record_flow
from recorder.states import handed_out
from tests.helpers import exchange
from tests.test_fast_path import DATA, pact_text, varying_document
from tests.test_review import traffic


def both(feed, out: Path, monkeypatch) -> tuple[dict, dict]:
    """(the pact with sampling, the pact with every body read: the shape never counts as settled)."""
    sampled = json.loads(pact_text(feed, out))
    with monkeypatch.context() as m:
        m.setattr(sampling, "SETTLED", 10**9)
        every = json.loads(pact_text(feed, out))
    return sampled, every


def notes(pact: dict) -> list[str]:
    return [n for i in pact["interactions"] for n in i["comments"]["text"]]


def contract(pact: dict) -> list[tuple]:
    """What a verification checks: requests, statuses, bodies, headers and matching rules."""
    return [(i["request"], i["response"]) for i in pact["interactions"]]


def read_count(pact: dict) -> int:
    (note,) = [n for n in notes(pact) if "read from" in n]
    return int(note.split("read from ")[1].split(" of")[0])


@pytest.mark.unit
@pytest.mark.parametrize("corpus", ["review goldens", "chrome.har", "firefox.har", "varying documents"])
def test_a_recording_too_short_to_settle_gives_the_same_pact(corpus, tmp_path, monkeypatch):
    def feed(recording):
        if corpus == "review goldens":
            for ex in traffic():
                recording.add(ex)
        elif corpus == "varying documents":
            for n in range(60):
                recording.add(exchange("GET", f"/items?page={n % 3}", 200, varying_document(n)))
        else:
            for flow in read_flows(DATA / corpus):
                record_flow(recording, flow)

    sampled, every = both(feed, tmp_path, monkeypatch)
    assert sampled == every
    assert not any("read from" in n for n in notes(sampled))


@pytest.mark.unit
def test_a_settled_shape_reads_fewer_bodies_and_infers_the_same_contract(tmp_path, monkeypatch):
    def feed(recording):
        for n in range(400):
            recording.add(exchange("GET", "/items", 200, varying_document(n % 5 * 1000 + n)))

    sampled, every = both(feed, tmp_path, monkeypatch)
    assert any("of 400 distinct responses" in n for n in notes(sampled))
    # The settling reads, then one in STRIDE, fewer while nothing is learned: 8, 16, 32, then one in 64.
    assert sampling.SETTLED + (400 - sampling.SETTLED) // 64 < read_count(sampled) < sampling.SETTLED + 400 // 8
    assert contract(sampled) == contract(every)
    assert not any("read from" in n for n in notes(every))


@pytest.mark.unit
def test_what_a_settled_shape_has_not_seen_makes_it_read_every_body_again(tmp_path, monkeypatch):
    def document(n: int, late: bool) -> dict:
        doc = {"id": n, "at": f"2024-05-01T10:{n % 60:02d}:00Z", "status": "active"}
        if late:  # after the shape settled: a new key in some bodies, a null in others
            doc |= {"note": f"n{n}"} if n % 3 == 0 else {"status": None}
        return doc

    def feed(late_from: int):
        def fed(recording):
            for n in range(600):
                recording.add(exchange("GET", "/things/current", 200, document(n, late=n >= late_from)))

        return fed

    sampled, every = both(feed(300), tmp_path, monkeypatch)
    assert contract(sampled) == contract(every)
    rules = sampled["interactions"][0]["response"]["matchingRules"]["body"]
    assert rules["$.status"]["combine"] == "OR"  # nullable: the nulls came after the shape had settled
    quiet, _ = both(feed(600), tmp_path, monkeypatch)
    assert read_count(sampled) > read_count(quiet) + sampling.SETTLED


@pytest.mark.unit
def test_nothing_of_an_unread_body_reaches_a_file_unredacted(tmp_path):
    tokens = [f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI{n:04d}In0.c2lnbmF0dXJl" for n in range(300)]
    keys = [f"{n * 7919:032x}" for n in range(300)]
    recording = Recording(Settings("web", "api", tmp_path, self_check=False))
    kept = []
    for n in range(300):
        body = {"id": f"item-{n:06d}", "session_token": tokens[n], "owner": {"api_key": keys[n], "id": n * 10**6}}
        kept.append(recording.add(exchange("GET", "/session", 200, body)))
    recording.add(exchange("GET", "/items/item-000299", 200, {"id": "item-000299"}))
    written = recording.write()

    assert any(k.response_body == b"" for k in kept)  # unread: the caller gets no body
    text = "\n".join(p.read_text() for p in written)
    assert not any(t in text for t in tokens) and not any(k in text for k in keys)
    timeline = recording.timeline.handed.values
    assert "item-000299" in timeline  # ids are still taken from unread bodies...
    assert not set(tokens + keys) & set(timeline)  # ...secrets never: redacted one by one


@pytest.mark.unit
def test_a_caller_that_keeps_the_exchanges_gets_every_body_redacted(tmp_path):
    recording = Recording(Settings("web", "api", tmp_path, self_check=False))
    kept = [
        recording.add(exchange("GET", "/session", 200, {"id": n, "token": f"{n:040x}"}), keep=True) for n in range(200)
    ]
    bodies = [json.loads(k.response_body) for k in kept]
    assert all(b["token"] == "<redacted>" for b in bodies)
    assert [b["id"] for b in bodies] == list(range(200))


def test_infer_reads_every_body_when_asked(tmp_path):
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    from recorder.cli.commands import main

    capture = tmp_path / "capture.mitm"
    with open(capture, "wb") as f:
        writer = io.FlowWriter(f)
        for n in range(200):
            req = http.Request.make("GET", "http://api.test/items", b"", {"Accept": "application/json"})
            body = json.dumps(varying_document(n % 5 * 1000 + n)).encode()
            writer.add(tflow.tflow(req=req, resp=http.Response.make(200, body, {"Content-Type": "application/json"})))

    def pact_of(*extra: str) -> dict:
        out = tmp_path / ("every" if extra else "sampled")
        assert main(["infer", str(capture), "--consumer", "web", "--provider", "api", "--out", str(out), *extra]) == 0
        return json.loads((out / "web-api.json").read_text())

    assert any("of 200 distinct responses" in n for n in notes(pact_of()))
    assert not any("read from" in n for n in notes(pact_of("--read-every-body")))


@pytest.mark.unit
def test_a_value_from_a_body_left_unread_is_found_when_a_later_request_sends_it(tmp_path, monkeypatch):
    """The states' timeline looks into an unread body only when a request sends a value no read body
    handed out; it finds the value as if the body had been read (and when looking would cost more than
    reading, it reads every unread body: the same again)."""

    def page(n: int) -> dict:
        return {"items": [{"id": f"doc-{n:05d}-{k}", "name": f"d{k}"} for k in range(5)], "next": f"c{n * 7919:08x}"}

    def hints(name: str) -> tuple[str, list[int]]:
        recording = Recording(Settings("web", "api", tmp_path / name, self_check=False))
        unread = []
        for n in range(300):
            kept = recording.add(exchange("GET", "/docs", 200, page(n), query=(("page", str(n)),)))
            if kept.response_body == b"":
                unread.append(n)
        recording.add(exchange("GET", "/docs", 200, {"items": []}, query=(("cursor", f"c{cursor * 7919:08x}"),)))
        _, states = recording.write()
        return states.read_text(), unread

    cursor = 297
    sampled, unread = hints("sampled")
    assert cursor in unread
    assert f"cursor: c{cursor * 7919:08x}" in sampled.split("values handed out by earlier responses")[1]
    with monkeypatch.context() as m:
        m.setattr(sampling, "SETTLED", 10**9)
        assert hints("every") == (sampled, [])
    with monkeypatch.context() as m:
        m.setattr(handed_out, "SCAN_FACTOR", 0)  # no search is worth it: every unread body is read
        assert hints("read") == (sampled, unread)
