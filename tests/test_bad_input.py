"""Bad input gets a clear error, and the run goes on where it can: a table of input -> message, exit.

Files and command lines go through `main()` as a user would; traffic goes through the pipeline, where
the rule is: never a crash, and a note in the contract that says what was left out and why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recorder.cli.commands import main
from recorder.model import NO_BODY
from recorder.record.pipeline import Recording, Settings
from tests.helpers import exchange

DATA = Path(__file__).parent / "data"
NAMES = ["--consumer", "c", "--provider", "p"]


def users_capture(tmp_path: Path) -> Path:
    """A real .mitm capture of a few users exchanges (made with mitmproxy's own writer)."""
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    path = tmp_path / "capture.mitm"
    with open(path, "wb") as f:
        writer = io.FlowWriter(f)
        for uid in (1, 2, 3):
            req = http.Request.make("GET", f"http://api.test/users/{uid}", b"", {"Accept": "application/json"})
            resp = http.Response.make(200, json.dumps({"id": uid}).encode(), {"Content-Type": "application/json"})
            writer.add(tflow.tflow(req=req, resp=resp))
    return path


def make(tmp_path: Path, kind: str) -> Path:
    if kind == "empty":
        (tmp_path / "empty.mitm").write_bytes(b"")
        return tmp_path / "empty.mitm"
    if kind == "truncated-mitm":
        data = users_capture(tmp_path).read_bytes()
        (tmp_path / "truncated.mitm").write_bytes(data[: int(len(data) * 0.7)])
        return tmp_path / "truncated.mitm"
    if kind == "corrupt-mitm":
        (tmp_path / "corrupt.mitm").write_bytes(b"\x00\x01 definitely not tnetstrings")
        return tmp_path / "corrupt.mitm"
    if kind == "truncated-har":
        text = (DATA / "chrome.har").read_text()
        (tmp_path / "truncated.har").write_text(text[: len(text) // 2])
        return tmp_path / "truncated.har"
    if kind == "bad-rules":
        (tmp_path / "rules.yaml").write_text("select:\n  - name: x\n    paht: [/a]\n")
        return tmp_path / "rules.yaml"
    return Path(shutil.copy(DATA / kind, tmp_path / kind))


FILES = [
    # (input, extra arguments, expected fragment (stdout+stderr), exit code)
    ("empty", [], "Nothing was recorded, so no pact was written:", 1),
    ("truncated-mitm", [], "the file breaks off after 2 flow(s)", 0),
    ("corrupt-mitm", [], "not a readable .mitm flow file or HAR file", 2),
    ("truncated-har", [], "not a readable .mitm flow file or HAR file (Unable to read HAR file", 2),
    ("chrome.har", [], "3 exchange(s) seen, 3 recorded into 2 interaction(s)", 0),
    ("firefox.har", [], "2 exchange(s) seen, 2 recorded into 2 interaction(s)", 0),
    (
        "chrome.har",
        ["--rules", "{bad-rules}"],
        "rules.yaml:3: select rule 'x': unknown key 'paht' (did you mean 'path'?)",
        2,
    ),
]


@pytest.mark.parametrize(("kind", "extra", "fragment", "code"), FILES, ids=[f"{k} {e}" for k, e, *_ in FILES])
def test_files(kind, extra, fragment, code, tmp_path, capsys):
    path = make(tmp_path, kind)
    extra = [make(tmp_path, "bad-rules").as_posix() if a == "{bad-rules}" else a for a in extra]
    assert main(["infer", str(path), *NAMES, "--out", str(tmp_path / "out"), *extra]) == code
    out = capsys.readouterr()
    assert fragment in out.out + out.err
    assert "Traceback" not in out.out + out.err


def test_browser_har_quirks_pseudo_headers_and_bodies_without_content_type(tmp_path, capsys):
    assert main(["infer", str(DATA / "chrome.har"), *NAMES, "--out", str(tmp_path)]) == 0
    pact = json.loads((tmp_path / "c-p.json").read_text())
    post = next(i for i in pact["interactions"] if i["request"]["method"] == "POST")
    assert not any(h.startswith(":") for h in post["request"]["headers"])
    assert post["request"]["body"]["content"] == {"name": "Eve"}
    assert "chrome-secret-token-1" not in (tmp_path / "c-p.json").read_text()


TRAFFIC = [
    # (what, exchange, expected note in the interaction (or None), response body in the contract)
    (
        "malformed JSON under a JSON content type",
        exchange(raw_body=b'{"id": 1,', response_headers=(("Content-Type", "application/json"),)),
        "response body (application/json, 9 bytes) recorded without its content",
        None,
    ),
    (
        "invalid UTF-8 under a JSON content type",
        exchange(raw_body=b'{"n": "\xff\xfe"}', response_headers=(("Content-Type", "application/json"),)),
        "recorded without its content",
        None,
    ),
    (
        "an empty body that claims JSON",
        exchange(raw_body=b"", response_headers=(("Content-Type", "application/json"),)),
        None,
        None,
    ),
    ("204 No Content", exchange("DELETE", "/users/1", 204), None, None),
    ("304 Not Modified", exchange("GET", "/users/1", 304), None, None),
    (
        "a HEAD request",
        exchange("HEAD", "/users/1", 200, response_headers=(("Content-Type", "application/json"),)),
        None,
        None,
    ),
    (
        "duplicate headers",
        exchange(
            body={"id": 1}, response_headers=(("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b"))
        ),
        None,
        {"id": 1},
    ),
    ("huge headers", exchange(body={"id": 1}, request_headers=(("X-Big", "x" * 65536),)), None, {"id": 1}),
    (
        "binary under an image type",
        exchange(raw_body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)), response_headers=(("Content-Type", "image/png"),)),
        "response body (image/png, 264 bytes) recorded without its content",
        None,
    ),
]


@pytest.mark.parametrize(("what", "ex", "note", "body"), TRAFFIC, ids=[t[0] for t in TRAFFIC])
def test_traffic_never_crashes_and_says_what_was_left_out(what, ex, note, body, tmp_path):
    recording = Recording(Settings("c", "p", tmp_path))
    recording.add(ex)
    (interaction,) = recording.interactions()
    assert interaction.response.body == (NO_BODY if body is None else body)
    if note is not None:
        assert any(note in n for n in interaction.notes), interaction.notes
    assert recording.write() is not None  # and the Pact core accepts what is written
