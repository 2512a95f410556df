"""Secrets never reach disk: seeded into every place a recording sees, none survives in any file
written or any line logged, and the pact still verifies once real credentials are passed back in."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from examples.jsonserver import JsonHandler, make_server
from recorder.cli.commands import main
from tests.conftest import record_through, recorder_args

TOKEN = "s3cr3t-bearer-0f9a8b7c"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEiLCJyb2xlIjoiYWRtaW4ifQ.Zm9vYmFyYmF6cXV4cXV1eA"
SECRETS = {
    "bearer": TOKEN,
    "cookie": "sessionid-7d2f9e1c",
    "api key header": "ak_9f8e7d6c5b4a",
    "api key query": "qk-1a2b3c4d5e",
    "access token query": "at-55aa66bb",
    "password json": "hunter2-correct-horse",
    "client secret nested": "cs-0123456789",
    "password form": "form-pass-9z8y",
    "jwt response": JWT,
    "refresh token": "rt-abcdef-123456",
    "card": "4242 4242 4242 4242",
    "bcrypt": "$2b$12$KIXQJ0Y1nCz5lq8Y6h8v8uJ3v5S1oV0Vh4Jm6jZQ9k2Yw1c8mQ5aW",
    "hex key": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "set-cookie": "srv-session-31337",
}


class AuthProvider(JsonHandler):
    def do_POST(self):
        if self.path == "/login":
            self.read_json()
            return self.send_json(
                200,
                {
                    "access_token": JWT,
                    "refresh_token": SECRETS["refresh token"],
                    "token_type": "bearer",
                    "expires_in": 3600,
                },
                {"Set-Cookie": f"srv={SECRETS['set-cookie']}; Path=/; HttpOnly"},
            )
        if self.path == "/login-form":
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode())
            return self.send_json(200, {"user": form.get("user", ["?"])[0]})
        self.send_json(404, {})

    def do_GET(self):
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.send_json(401, {"error": "unauthorised"})
        self.send_json(
            200,
            {
                "name": "Ada",
                "card": SECRETS["card"],
                "password_hash": SECRETS["bcrypt"],
                "signing_key": SECRETS["hex key"],
                "plan": "pro",
            },
        )


def consumer(base: str) -> None:
    def call(path, body=None, headers=None):
        req = urllib.request.Request(base + path, data=body, headers=headers or {}, method="POST" if body else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    call(
        "/login",
        json.dumps(
            {
                "username": "ada",
                "password": SECRETS["password json"],
                "client": {"client_secret": SECRETS["client secret nested"]},
            }
        ).encode(),
        {"Content-Type": "application/json", "Accept": "application/json"},
    )
    call(
        "/login-form",
        urllib.parse.urlencode({"user": "ada", "password": SECRETS["password form"]}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    query = urllib.parse.urlencode(
        {"api_key": SECRETS["api key query"], "access_token": SECRETS["access token query"], "view": "full"}
    )
    call(
        f"/profile?{query}",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Cookie": f"sid={SECRETS['cookie']}",
            "X-Api-Key": SECRETS["api key header"],
            "Accept": "application/json",
        },
    )


def serve():
    server = make_server(AuthProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_no_secret_reaches_any_file_or_log_and_the_pact_verifies_with_real_credentials(tmp_path, capsys):
    server, url = serve()
    out = tmp_path / "out"
    try:
        proxy = record_through(
            recorder_args(url, out, "--save-flows", str(out / "flows.mitm"), "--flush-interval", "1", "-v"), consumer
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (
        main(["infer", str(out / "flows.mitm"), "--consumer", "c", "--provider", "p", "--out", str(out / "again")]) == 0
    )
    for fmt in ("text", "md", "html", "json"):  # review outputs count as files written too
        report = out / f"review.{fmt}"
        assert main(["review", str(out / "user-web-user-service.json"), "--format", fmt, "--out", str(report)]) == 0
    written = [p for p in out.rglob("*") if p.is_file() and "conf" not in p.parts]
    assert {p.name for p in written} >= {
        "user-web-user-service.json",
        "user-web-user-service.states.yaml",
        "flows.mitm",
        "c-p.json",
        "review.text",
        "review.md",
        "review.html",
        "review.json",
    }
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in written}
    texts["recorder output"] = proxy.output
    texts["infer output"] = capsys.readouterr().out
    for where, text in texts.items():
        for kind, value in SECRETS.items():
            assert value not in text, f"{kind} secret found in {where}"
    assert "redacted" in proxy.output  # the summary lists what was redacted where

    pact = out / "user-web-user-service.json"
    server, url = serve()
    try:
        without = main(["verify", str(pact), "--provider-url", url])
        with_token = main(["verify", str(pact), "--provider-url", url, "--header", f"Authorization: Bearer {TOKEN}"])
    finally:
        server.shutdown()
        server.server_close()
    verdicts = capsys.readouterr().out
    assert (without, with_token) == (1, 0), verdicts
    assert "the provider says the request was unauthorised" in verdicts
    assert (
        "the recording redacted query parameter api_key, query parameter access_token, header Authorization" in verdicts
    )
    assert "--secret authorization=VALUE" in verdicts and "--header 'Authorization: ...'" not in verdicts
    assert Path(pact).read_text().count("<redacted>") >= 5


@pytest.mark.unit
def test_the_401_hint_names_a_password_redacted_in_the_json_body():
    from recorder.verify.run import _problems

    status = {"mismatches": [{"type": "StatusMismatch", "expected": 200, "actual": 401}]}
    entries = [{"in": "body", "key": ["account", "password"], "secret": "password"}]
    (problem,) = _problems(status, False, entries)
    assert problem.endswith(
        "the recording redacted the JSON body's $.account.password: pass the real value(s) with --secret password=VALUE"
    )
