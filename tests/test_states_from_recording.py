"""A recorded pact verifies green against its real provider started empty, with no state code written
by hand: each state is set up by replaying the recorded requests that made it (`verify
--states-from-recording`). The docstore example has nested resources with literal names and generated
ids, 201/200/404/412/304 for the same request, ETags with If-Match / If-None-Match, cursor pagination,
and an account created with a password then used for Basic auth."""

from __future__ import annotations

import email.utils
import json
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from examples import procs
from examples.docstore.consumer import exercise
from examples.jsonserver import JsonHandler, serving
from recorder.cli.commands import main
from recorder.model import Exchange
from recorder.record.pipeline import Recording, Settings
from recorder.record.proxy import free_port
from recorder.verify.run import load_state_module
from tests.conftest import CLI, ROOT, mock_serving, record_through, recorder_args

CONSUMER, PROVIDER = "web", "docstore"
PACT = f"{CONSUMER}-{PROVIDER}.json"
HINTS = f"{CONSUMER}-{PROVIDER}.states.yaml"


def provider(*options: str) -> procs.Process:
    return procs.start(procs.python("-m", "examples.docstore.provider", "--port", "0", *options), cwd=str(ROOT))


def record(out, *options: str) -> None:
    running = provider()
    try:
        record_through(recorder_args(running.url, out, *options, consumer=CONSUMER, provider=PROVIDER), exercise)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("docstore")
    record(out)
    return out


def verify_fresh(pact, capsys, *options: str, provider_options: tuple[str, ...] = ()) -> tuple[int, str]:
    fresh = provider(*provider_options)
    try:
        code = main(["verify", str(pact), "--provider-url", fresh.url, "--states-from-recording", *options])
    finally:
        fresh.stop()
    return code, capsys.readouterr().out


def test_the_pact_verifies_against_the_provider_started_empty_with_no_state_code(recorded, capsys):
    code, out = verify_fresh(recorded / PACT, capsys)
    assert code == 0, out
    assert "28 of 28 interaction(s) passed: the pact verified" in out
    # The same request, told apart by what the provider held before it:
    assert (
        "PASS  PUT /stores/main/collections/orders/records/r1 returns 201  (given account exists, store exists, collection exists, record does not exist)"
        in out
    )
    assert (
        "PASS  PUT /stores/main/collections/orders/records/r1 returns 200  (given account exists, store exists, collection exists, record exists)"
        in out
    )


def test_its_review_raises_no_threat_the_verification_disproves(recorded, capsys):
    """It verifies from empty (above), so its review must not say otherwise: the same request answered 200 and
    401 differs in the credentials the verifier fills in, and 200 and 412 in the If-Match it sends."""
    assert main(["review", str(recorded / PACT)]) == 0
    out = capsys.readouterr().out
    assert "Threats to verification by kind: none the recording shows" in out, out
    (verify,) = [line for line in out.splitlines() if "Verify:" in line]  # asks for no secret: it needs none
    assert "--states-from-recording" in verify and "--secret" not in verify
    doc = json.loads((recorded / PACT).read_text())
    assert not any("another outcome" in t for i in doc["interactions"] for t in i["comments"]["text"])


def test_a_v3_pact_verifies_the_same_way(tmp_path, capsys):
    record(tmp_path, "--spec", "v3")  # V3 has no comments: the named secrets are in the evidence file
    code, out = verify_fresh(tmp_path / PACT, capsys)
    assert code == 0, out


@pytest.mark.parametrize("seed", [1, 2])
def test_it_verifies_in_any_order(recorded, tmp_path, capsys, seed):
    pact = json.loads((recorded / PACT).read_text())
    random.Random(seed).shuffle(pact["interactions"])
    (tmp_path / PACT).write_text(json.dumps(pact))
    shutil.copy(recorded / HINTS, tmp_path / HINTS)
    code, out = verify_fresh(tmp_path / PACT, capsys)
    assert code == 0, out


def test_a_provider_that_can_be_emptied_is_reset_through_the_url_given(recorded, capsys):
    fresh = provider("--flush")
    try:
        code = main(
            [
                "verify",
                str(recorded / PACT),
                "--provider-url",
                fresh.url,
                "--states-from-recording",
                "--reset-url",
                f"{fresh.url}/__flush__",
            ]
        )
    finally:
        fresh.stop()
    out = capsys.readouterr().out
    assert code == 0, out


def test_a_provider_that_breaks_the_contract_goes_red(recorded, capsys):
    code, out = verify_fresh(recorded / PACT, capsys, provider_options=("--break", "rename-field"))
    assert code == 1
    assert "last_modified" in out and "STATE" not in out  # the setups worked: the response is what broke


def test_the_states_file_has_setups_and_names_without_recorded_values(recorded):
    hints = yaml.safe_load((recorded / HINTS).read_text())
    names = {s["name"] for s in hints["states"]}
    assert names == {
        "account does not exist",
        "account exists",
        "collection does not exist",
        "collection exists",
        "record does not exist",
        "record exists",
        "records exist",
        "store does not exist",
        "store exists",
        "values handed out by earlier responses",
    }
    record_states = [s for s in hints["states"] if s["name"] == "record exists"]
    assert all(set(s["params"]) >= {"store", "collection", "record"} for s in record_states)
    assert all(s.get("setup") for s in record_states)


def test_secrets_never_reach_the_files_and_a_real_one_is_asked_for_by_name(recorded, tmp_path, capsys):
    for path in recorded.glob("*.*"):
        assert "alice-s3cret" not in path.read_text() and "bob-s3cret" not in path.read_text(), path
        assert "YWxpY2U6" not in path.read_text(), path
    # The wrong-password request was refused (401): any value will do for it. A secret that no
    # recorded request set must be given, and is named before anything is sent.
    pact = json.loads((recorded / PACT).read_text())
    for i in pact["interactions"]:
        for e in i.get("comments", {}).get("pactRecorder", {}).get("secrets") or []:
            if e["in"] == "header":  # as if the credentials were never built on a recorded password
                e.pop("user", None)
                e["secret"] = "api_key"
    (tmp_path / PACT).write_text(json.dumps(pact))
    shutil.copy(recorded / HINTS, tmp_path / HINTS)
    code = main(["verify", str(tmp_path / PACT), "--provider-url", "http://127.0.0.1:9", "--states-from-recording"])
    err = capsys.readouterr().err
    assert code == 2
    assert "api_key: needed by" in err and "pass --secret api_key=VALUE (or PACT_SECRET_API_KEY)" in err


def test_re_recording_the_same_provider_changes_nothing(recorded, tmp_path, capsys):
    record(tmp_path)
    code = main(["diff", str(recorded / PACT), str(tmp_path / PACT)])
    assert code == 0, capsys.readouterr().out

    def shape(states_file):
        return [
            (s["name"], sorted(s["params"]), len(s.get("setup", [])))
            for s in yaml.safe_load(states_file.read_text())["states"]
        ]

    assert sorted(shape(recorded / HINTS)) == sorted(shape(tmp_path / HINTS))


def test_generated_values_reach_the_request_through_generators(recorded):
    by_description = {i["description"]: i for i in json.loads((recorded / PACT).read_text())["interactions"]}
    page_2 = by_description["GET /stores/main/collections/orders/records returns 200 (query _token, limit)"]
    assert page_2["request"]["generators"]["query"]["_token"]["expression"] == "${token}"  # the cursor
    not_modified = by_description["GET /stores/main/collections/orders/records/r1 returns 304"]
    assert not_modified["request"]["generators"]["header"]["If-None-Match"]["expression"] == '"${ifNoneMatch}"'
    created = by_description["GET /stores/main/collections/orders/records/{id} returns 200"]
    assert created["request"]["generators"]["path"]["expression"].endswith("/records/${record}")  # a POSTed id
    values = page_2["providerStates"][-1]
    assert values["name"] == "values handed out by earlier responses" and set(values["params"]) == {"token"}


class TokenProvider(JsonHandler):
    """Sign up with a password, log in for a token, then use it as a Bearer token (a fresh one each
    login, as real providers hand them out)."""

    users: dict[str, str] = {}
    tokens: dict[str, str] = {}

    def do_POST(self):  # noqa: N802
        body = self.read_json() or {}
        if self.path == "/users":
            if body.get("name") in self.users:
                return self.send_json(409, {"error": "exists"})
            self.users[body["name"]] = body["password"]
            return self.send_json(201, {"name": body["name"]})
        if self.path == "/login":
            if self.users.get(body.get("name")) != body.get("password"):
                return self.send_json(401, {"error": "wrong password"})
            token = secrets.token_hex(20)
            self.tokens[token] = body["name"]
            if body.get("session"):  # a browser-style login: the token comes back as a cookie
                return self.send_json(200, {"ok": True}, {"Set-Cookie": f"sid={token}; Path=/; HttpOnly"})
            return self.send_json(200, {"token": token})
        self.send_json(404, {})

    def do_DELETE(self):  # noqa: N802
        self.users.pop(self.path.removeprefix("/users/"), None)
        self.send_json(204 if self.path.startswith("/users/") else 404, {})

    def do_GET(self):  # noqa: N802
        cookie = (self.headers.get("Cookie") or "").removeprefix("sid=")
        user = self.tokens.get((self.headers.get("Authorization") or "").removeprefix("Bearer ") or cookie)
        if user is None:
            return self.send_json(401, {"error": "who are you?"})
        self.send_json(200, {"name": user})


def test_a_token_a_login_handed_out_is_fetched_fresh_by_the_setup(tmp_path, capsys):
    TokenProvider.users, TokenProvider.tokens = {}, {}
    with serving(TokenProvider) as url:

        def story(base):
            call = lambda method, path, body=None, token=None: urllib.request.urlopen(  # noqa: E731
                urllib.request.Request(
                    base + path,
                    data=json.dumps(body).encode() if body is not None else None,
                    method=method,
                    headers={"Content-Type": "application/json"}
                    | ({"Authorization": f"Bearer {token}"} if token else {}),
                )
            )
            call("POST", "/users", {"name": "ada", "password": "correct horse"})
            token = json.loads(call("POST", "/login", {"name": "ada", "password": "correct horse"}).read())["token"]
            assert json.loads(call("GET", "/me", token=token).read()) == {"name": "ada"}
            login = call("POST", "/login", {"name": "ada", "password": "correct horse", "session": True})
            sid = login.headers["Set-Cookie"].split(";")[0]
            profile = urllib.request.Request(base + "/profile", headers={"Cookie": sid})
            assert json.loads(urllib.request.urlopen(profile).read()) == {"name": "ada"}

        record_through(recorder_args(url, tmp_path, consumer=CONSUMER, provider="tokens"), story)
        TokenProvider.users, TokenProvider.tokens = {}, {}  # the provider started empty again
        pact = tmp_path / f"{CONSUMER}-tokens.json"
        text = pact.read_text() + (tmp_path / f"{CONSUMER}-tokens.states.yaml").read_text()
        assert "correct horse" not in text
        code = main(["verify", str(pact), "--provider-url", url, "--states-from-recording"])
    out = capsys.readouterr().out
    assert code == 0, out
    by_description = {i["description"]: i for i in json.loads(pact.read_text())["interactions"]}
    me = by_description["GET /me returns 200"]
    assert me["request"]["generators"]["header"]["Authorization"]["expression"] == "Bearer ${token}"
    profile = by_description["GET /profile returns 200"]
    assert profile["request"]["generators"]["header"]["Cookie"]["expression"] == "sid=${sid}"


class MetricsProvider(JsonHandler):
    """Keeps an hour of data points: a query window older than that is refused."""

    def do_GET(self):  # noqa: N802
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        start, end, now = int(query.get("start", 0)), int(query.get("end", 0)), time.time()
        if start < now - 3600 or end > now + 60:
            return self.send_json(400, {"error": "outside the retention window"})
        self.send_json(200, {"points": [[start, "1.0"], [end, "2.0"]]})


def test_a_clock_based_query_window_still_verifies_two_hours_later(tmp_path, capsys, mock_master):
    recorded_at = time.time() - 2 * 3600  # recorded two hours ago: a fixed window is out of retention now
    window = (("start", str(int(recorded_at - 600))), ("end", str(int(recorded_at))))
    rec = Recording(Settings(CONSUMER, "metrics", tmp_path))
    rec.add(
        Exchange(
            "GET",
            "/query",
            window,
            (),
            b"",
            200,
            (("Content-Type", "application/json"), ("Date", email.utils.formatdate(recorded_at, usegmt=True))),
            json.dumps({"points": [[int(recorded_at) - 600, "1.0"], [int(recorded_at), "2.0"]]}).encode(),
        )
    )
    rec.write()
    pact = tmp_path / f"{CONSUMER}-metrics.json"
    (query,) = json.loads(pact.read_text())["interactions"]
    assert query["request"]["generators"]["query"] == {
        "end": {"type": "ProviderState", "expression": "${end}", "dataType": "STRING"},
        "start": {"type": "ProviderState", "expression": "${start}", "dataType": "STRING"},
    }
    states = yaml.safe_load((tmp_path / f"{CONSUMER}-metrics.states.yaml").read_text())["states"]
    (clock,) = [s["clock"] for s in states if "clock" in s]
    assert clock == {"end": {"kind": "epoch-s", "offset": 0.0}, "start": {"kind": "epoch-s", "offset": -600.0}}
    with serving(MetricsProvider) as url:
        code = main(["verify", str(pact), "--provider-url", url, "--states-from-recording"])
    assert code == 0, capsys.readouterr().out
    # The consumer, run today against a mock serving the pact, sends today's window: accepted.
    port = mock_serving(mock_master, pact)
    now = int(time.time())
    today = urllib.parse.urlencode({"start": now - 600, "end": now})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{today}") as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError):  # still a moment, not anything
        urllib.request.urlopen(f"http://127.0.0.1:{port}/query?start=yesterday&end={now}")


def test_the_scaffold_writes_the_recorded_setups_as_an_editable_module(recorded, tmp_path, monkeypatch, capsys):
    module_path = tmp_path / "states.py"
    assert main(["states", "scaffold", str(recorded / PACT), "--from-recording", "--out", str(module_path)]) == 0
    text = module_path.read_text()
    assert 'return from_recording("record exists", locals())' in text and "RECORDING = {" in text
    fresh = provider()
    try:
        monkeypatch.setenv("PROVIDER_URL", fresh.url)
        # The module's setups and the verifier's requests must agree on the passwords the recording set.
        monkeypatch.setenv("PACT_SECRET_PASSWORD", "any-password")
        monkeypatch.setenv("PACT_SECRET_PASSWORD_2", "another-password")
        module = load_state_module(module_path)

        class StateEndpoint(JsonHandler):  # how a provider team would expose the module
            def do_POST(self):  # noqa: N802
                call = self.read_json()
                self.send_json(200, module.handle(call["state"], call.get("action"), call.get("params")) or {})

        with serving(StateEndpoint) as state_url:
            code = main(["verify", str(recorded / PACT), "--provider-url", fresh.url, "--state-url", state_url])
    finally:
        fresh.stop()
    out = capsys.readouterr().out
    assert code == 0, out


def test_a_provider_nothing_can_empty_is_started_afresh_by_the_reset_command(recorded, capsys):
    port = free_port()
    command = f"{sys.executable} -m examples.docstore.provider --port {port}"
    code = main(
        ["verify", str(recorded / PACT), "--provider-url", f"http://127.0.0.1:{port}", "--states-from-recording",
         "--reset-command", command]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    with pytest.raises(OSError):  # stopped on the way out
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_provider_the_reset_command_started_does_not_outlive_a_verify_that_was_killed(recorded):
    port = free_port()
    command = f"{sys.executable} -m examples.docstore.provider --port {port}"
    verify = subprocess.Popen(
        [CLI, "verify", str(recorded / PACT), "--provider-url", f"http://127.0.0.1:{port}",
         "--states-from-recording", "--reset-command", command],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert _until(lambda: _accepts(port)), "the reset command's provider never served"
    finally:
        verify.kill()  # no chance to clean up
        verify.wait()
    assert _until(lambda: not _accepts(port)), "the provider outlived the verify that started it"


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _until(condition, timeout: float = 30) -> bool:
    """Wait until `condition()` holds (checked every 50 ms), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
