"""replay and prune with real parts: the bundled consumer's suite against `pact-recorder replay` of its own
recorded pact (the provider stopped), through the CLI and the pytest plugin; prune finding exactly the
fields a consumer reads, the Pact core verifying the pruned pact; suites that cannot answer refused."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from examples import procs
from recorder.cli.commands import main
from recorder.model import Exchange
from recorder.pact.core_parser import parse
from recorder.record.pipeline import Recording, Settings
from recorder.rules import load
from recorder.threadserver import ThreadServer
from recorder.tools.replay import replaying
from recorder.verify.run import verify
from tests.conftest import CLI, PACT_NAME, ROOT, RunningProvider, cli
from tests.test_pytest_plugin import SUITE, reverse, run_suite

PARTIAL = str(ROOT / "tests" / "data" / "partial_consumer" / "reads_some_fields.py")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The bundled consumer suite recorded through the plugin; the provider is stopped afterwards."""
    out = tmp_path_factory.mktemp("recorded")
    provider = RunningProvider()
    try:
        result = run_suite(provider, out, *reverse(provider))
    finally:
        provider.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    return out / PACT_NAME


def suite(url: str, *paths: str, options: tuple[str, ...] = (), env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "USERS_URL": url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *(paths or (SUITE,)), "-q", "-p", "no:cacheprovider", *options],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip


def test_the_bundled_suite_passes_against_replay_of_its_own_pact_offline(recorded):
    replay = procs.start([CLI, "replay", str(recorded), "--listen", "127.0.0.1:0"], cwd=str(ROOT))
    try:
        result = suite(replay.url)
        unmatched = suite(replay.url + "/nowhere")
    finally:
        code = replay.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert unmatched.returncode != 0
    assert code == 0
    assert "4 request(s) answered" in replay.output
    assert "unmatched: GET /nowhere/users/101 (closest: GET /users/{id} returns 200)" in replay.output, replay.output


def test_an_unmatched_request_gets_a_500_naming_the_closest_interaction(recorded):
    import urllib.error
    import urllib.request

    replay = procs.start([CLI, "replay", str(recorded), "--listen", "127.0.0.1:0"], cwd=str(ROOT))
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(replay.url + "/users/7?x=1", timeout=10)  # no Accept header, a query
        body = json.loads(e.value.read())
    finally:
        replay.stop()
    assert e.value.code == 500
    assert body["error"] == (
        "pact-recorder replay: no interaction accepts GET /users/7?x=1; "
        "the closest is 'GET /users/{id} returns 200' (GET /users/101)"
    )


def test_the_bundled_suite_passes_through_the_plugins_pact_replay(recorded):
    options = ("--pact-replay", str(recorded), "--pact-env", "user-service=USERS_URL")
    result = suite("http://127.0.0.1:9", options=options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 request(s) answered, 0 unmatched" in result.stdout


def test_prune_removes_exactly_the_unread_fields_and_the_provider_may_drop_them(recorded, tmp_path):
    pact = tmp_path / PACT_NAME
    pact.write_bytes(recorded.read_bytes())
    command = [sys.executable, PARTIAL]
    result = cli("prune", str(pact), "--env", "USERS_URL", "--seed", "3", "--", *command)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(pact.read_text())
    responses = {i["description"]: i["response"] for i in doc["interactions"]}
    assert set(responses["GET /users/{id} returns 200"]["body"]["content"]) == {"id", "name"}
    assert set(responses["GET /users/{id} returns 404"]["body"]["content"]) == {"error"}
    # this suite never lists users: the answer leaves the contract, its Content-Type with it
    assert responses["GET /users returns 200"] == {"status": 200}
    user = next(i for i in doc["interactions"] if i["description"] == "GET /users/{id} returns 200")
    assert set(user["response"]["matchingRules"]["body"]) == {"$.id", "$.name"}
    runs = int(result.stdout.split(" runs in ")[0].rsplit(" ", 1)[1])
    assert user["comments"]["pactRecorder"]["evidence"]["response.body"]["$.email"] == {
        "by": f"left out: not used by the consumer's tests ({runs} runs)",
        "pruned": True,
    }
    parse(pact.read_text())  # the core still reads it
    review = cli("review", str(pact)).stdout
    assert "response $.email: pruned (left out: not used by the consumer's tests" in review, review
    assert (
        f"GET /users/{{id}} returns 200: response field $.email removed (pruned: not used by the consumer's tests "
        f"({runs} runs))" in cli("diff", str(recorded), str(pact)).stdout
    )
    rules = tmp_path / "user-web-user-service.prune.yaml"
    assert "path: $.email" in rules.read_text() and "path: $.name" not in rules.read_text()
    load([rules])  # a valid rule file
    for breaking, ok in ((None, True), ("rename-email", True), ("drop-name", False), ("id-as-string", False)):
        provider = RunningProvider(breaking)
        try:
            assert verify(pact, provider.url, provider.state_url).ok is ok, breaking
        finally:
            provider.stop()
    # the same pact before pruning goes red when the unread email is renamed
    provider = RunningProvider("rename-email")
    try:
        assert not verify(recorded, provider.url, provider.state_url).ok
    finally:
        provider.stop()


@pytest.mark.parametrize(
    "script, message",
    [
        (
            "import sys; sys.exit(3)",
            "pact-recorder prune: error: the suite fails against the replay of its own pact with nothing withheld "
            "(exit 3), so it cannot say which fields it uses",
        ),
        (
            "import pathlib, sys; f = pathlib.Path(sys.argv[1]); n = int(f.read_text() or 0) if f.exists() else 0; "
            "f.write_text(str(n + 1)); sys.exit(n)",
            "pact-recorder prune: error: the suite is flaky: it passed, then failed with nothing withheld (exit 1)",
        ),
    ],
    ids=["fails-at-baseline", "flaky"],
)
def test_a_suite_that_cannot_answer_is_refused_and_nothing_is_written(recorded, tmp_path, script, message):
    pact = tmp_path / PACT_NAME
    pact.write_bytes(recorded.read_bytes())
    result = cli("prune", str(pact), "--", sys.executable, "-c", script, str(tmp_path / "count"))
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert pact.read_bytes() == recorded.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([PACT_NAME] + (["count"] if "flaky" in message else []))


def test_a_command_that_is_not_found_is_refused(recorded, tmp_path):
    result = cli("prune", str(recorded), "--", "no-such-suite-command", "-q")
    assert result.returncode == 2
    assert result.stderr == (
        "pact-recorder prune: error: command 'no-such-suite-command' not found (not on PATH, no such file)\n"
    )
    assert cli("prune", str(recorded)).stderr == (
        "pact-recorder prune: error: give the consumer's test command after --, e.g. prune PACT -- pytest tests/\n"
    )


def test_the_plugin_prunes_in_the_same_run_it_records(tmp_path):
    provider = RunningProvider()
    try:
        result = run_suite(provider, tmp_path, *reverse(provider), "--pact-prune")
    finally:
        provider.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(
        r"prune user-service: \d+ part\(s\) of the responses not used by the consumer.s tests", result.stdout
    )
    doc = json.loads((tmp_path / PACT_NAME).read_text())
    parse(json.dumps(doc))  # the core still takes it
    user = next(i for i in doc["interactions"] if i["description"] == "GET /users/{id} returns 200")
    content = user["response"]["body"]["content"]
    assert {"name", "email"} <= set(content) and "roles" not in content  # the suite reads name and email only
    assert "not used by the consumer's tests" in json.dumps(user["comments"]["pactRecorder"]["evidence"])
    assert (tmp_path / PACT_NAME.replace(".json", ".prune.yaml")).exists()


def test_the_plugins_pact_replay_answers_by_host_in_forward_mode(tmp_path):
    """Recorded through the forward proxy, replayed through one: the suite keeps the provider's own URL."""
    provider = RunningProvider()
    host = provider.url.removeprefix("http://")
    try:
        recording = run_suite(provider, tmp_path, "--pact-forward", "--pact-provider", f"user-service={host}")
    finally:
        provider.stop()  # nothing listens at its URL from here on
    assert recording.returncode == 0, recording.stdout + recording.stderr
    options = ("--pact-replay", str(tmp_path / PACT_NAME), "--pact-forward", "--pact-provider", f"user-service={host}")
    home = {"HOME": str(tmp_path / "home")}
    result = suite(provider.url, options=options, env=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 request(s) answered, 0 unmatched" in result.stdout


def _exchange(body: dict, status: int, answer: dict) -> Exchange:
    json_header = (("Content-Type", "application/json"),)
    return Exchange(
        "POST", "/orders", (), json_header, json.dumps(body).encode(), status, json_header,
        json.dumps(answer).encode(), host="127.0.0.1",
    )  # fmt: skip


def test_replay_answers_a_request_as_the_recorded_one_closest_to_it(tmp_path):
    # Both interactions accept any order by type; only the body tells them apart.
    recording = Recording(Settings("shop", "orders", tmp_path))
    recording.add(_exchange({"item": "book", "qty": 1}, 201, {"id": 7, "item": "book"}))
    recording.add(_exchange({"item": "unicorn", "qty": 1}, 422, {"error": "no such item: unicorn"}))
    recording.write()
    doc = json.loads((tmp_path / "shop-orders.json").read_text())
    with replaying(doc) as server:
        for item, status in (("unicorn", 422), ("book", 201), ("unicorn", 422)):
            request = urllib.request.Request(
                f"{server.url}/orders", data=json.dumps({"item": item, "qty": 1}).encode(),
                headers={"Content-Type": "application/json"}, method="POST",
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    got = answer.status
            except urllib.error.HTTPError as e:
                got = e.code
            assert got == status, item


def test_replay_on_a_port_in_use_is_said_with_exit_2(recorded, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["replay", str(recorded), "--listen", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--listen '127.0.0.1:{port}': cannot listen there" in err and "Traceback" not in err


def test_a_client_that_drops_its_connection_prints_no_traceback(capsys):
    with ThreadServer(BaseHTTPRequestHandler) as server:
        for error in (ConnectionResetError(), BrokenPipeError()):
            try:
                raise error
            except ConnectionError:
                server.httpd.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug of ours")
        except ValueError:
            server.httpd.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug of ours" in capsys.readouterr().err  # real errors are still said


READS_A_HEADER = """
import json, os, sys, urllib.request
with urllib.request.urlopen(os.environ["ITEMS_URL"] + "/items/1") as r:
    assert r.headers["ETag"] == '"v1"' and json.loads(r.read())["name"] == "a"
with urllib.request.urlopen(os.environ["ITEMS_URL"] + "/items") as r:
    assert r.status == 200  # the listing's body is never read
"""


def test_prune_leaves_out_unread_headers_and_whole_bodies_and_keeps_what_is_read(tmp_path):
    recording = Recording(Settings("script", "items", tmp_path))
    json_header = (("Content-Type", "application/json"),)
    for path, headers, body in (
        ("/items/1", (("ETag", '"v1"'), ("X-Shelf", "north")), {"id": 1, "name": "a", "note": "n"}),
        ("/items", (("X-Total-Count", "1"),), [{"id": 1, "name": "a"}]),
    ):
        recording.add(Exchange("GET", path, (), (), b"", 200, json_header + headers, json.dumps(body).encode(),
                               host="127.0.0.1"))  # fmt: skip
    recording.write()
    pact = tmp_path / "script-items.json"
    script = tmp_path / "consumer.py"
    script.write_text(READS_A_HEADER)
    result = cli("prune", str(pact), "--env", "ITEMS_URL", "--", sys.executable, str(script))
    assert result.returncode == 0, result.stdout + result.stderr
    responses = {i["description"]: i["response"] for i in json.loads(pact.read_text())["interactions"]}
    item = responses["GET /items/{id} returns 200"]
    assert set(item["headers"]) == {"Content-Type", "Etag"} and set(item["body"]["content"]) == {"name"}
    assert set(item["matchingRules"]["header"]) <= {"Content-Type", "Etag"}
    assert responses["GET /items returns 200"] == {"status": 200}  # body, its Content-Type and its count: unread
    ruleset = load([tmp_path / "script-items.prune.yaml"])  # a valid rule file, which says the same
    dropped = {h for r in ruleset.headers if r.name.startswith("prune-") and r.action == "drop" for h in r.headers}
    assert dropped == {"x-shelf", "x-total-count"}
    assert {(f.endpoint, f.path) for f in ruleset.fields if f.name.startswith("prune-")} >= {
        ("GET /items/{id}", "$.note")
    }


def _things_pact(path: Path, count: int) -> None:
    def interaction(k: int) -> dict:
        body = {"id": k, "name": f"thing {k}", "colour": "red", "size": k}
        return {
            "type": "Synchronous/HTTP",
            "description": f"GET /things{k} returns 200",
            "request": {"method": "GET", "path": f"/things{k}"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": ["application/json"]},
                "body": {"content": body, "contentType": "application/json", "encoded": False},
            },
        }

    doc = {"consumer": {"name": "c"}, "provider": {"name": "things"}, "interactions": [interaction(k) for k in range(count)],
           "metadata": {"pactSpecification": {"version": "4.0"}}}  # fmt: skip
    path.write_text(json.dumps(doc))


THINGS_SUITE = """
import json, os, urllib.request
import pytest

def get(k):
    return json.load(urllib.request.urlopen(os.environ["THINGS_URL"] + f"/things{k}", timeout=10))

@pytest.fixture(scope="module")
def first():
    return get(0)  # requested during the first test that asks for it, read by others too

@pytest.mark.parametrize("k", range(3))
def test_a_thing_has_its_name(k, first):
    assert get(k)["name"] == f"thing {k}"

def test_the_first_thing_is_red(first):
    assert first["colour"] == "red"  # no request of its own: it reads what another test requested
"""


def test_prune_tells_a_pytest_suite_s_tests_apart_and_stays_right_when_a_test_reads_another_s_answer(tmp_path):
    pact = tmp_path / "c-things.json"
    _things_pact(pact, 3)
    (tmp_path / "test_things.py").write_text(THINGS_SUITE)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_things.py")]
    result = cli("prune", str(pact), "--env", "THINGS_URL", "--", *command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the suite's tests told apart" in result.stdout
    left = {
        i["description"]: set(i["response"]["body"]["content"]) for i in json.loads(pact.read_text())["interactions"]
    }
    assert left == {
        "GET /things0 returns 200": {"name", "colour"},
        **{f"GET /things{k} returns 200": {"name"} for k in (1, 2)},
    }
