"""The verification loop with provider states: a stateful recording verifies against a provider set up
fresh (empty store), through a state module built from the scaffold, in any interaction order."""

from __future__ import annotations

import json
import random
import re
import time

import pytest
import yaml

from examples.jsonserver import JsonHandler, serving
from examples.users.consumer import lifecycle
from recorder.cli.commands import main
from recorder.tools.scaffold import scaffold
from recorder.verify.run import load_state_module, verify
from tests.conftest import CONSUMER, PACT_NAME, PROVIDER, RunningProvider, record_through, recorder_args

HINTS = f"{CONSUMER}-{PROVIDER}.states.yaml"

# What a provider developer writes in place of each SEED line of the scaffold, by state name.
SEEDING = [
    (r"user exists", "latest_store().create(DATA.get(STATE, {}), user)"),
    (r"user does not exist", "latest_store().delete(user)"),
    (r"users exist", "[latest_store().create(u, u['id']) for u in DATA[STATE]['items']]"),
    (r"no users exist", "latest_store().users.clear()"),
]


def fill_seed_lines(module: str) -> str:
    """Replace only the lines marked SEED: the data-seeding code a developer would write."""
    out, state = [], None
    for line in module.splitlines():
        if m := re.match(r'    """Provider state "(.+)" \(params', line):
            state = m.group(1)
        if "# SEED" in line:
            if line.startswith("# SEED: import"):
                line = "from examples.users.provider import latest_store"
            elif line.strip().startswith("pass"):  # teardown
                line = "    latest_store().users.clear()"
            else:
                code = next(c for pattern, c in SEEDING if re.fullmatch(pattern, state))
                line = f"    STATE = {json.dumps(state)}; {code}"
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def stateful(tmp_path_factory):
    out = tmp_path_factory.mktemp("stateful")
    provider = RunningProvider()
    try:
        record_through(recorder_args(provider.url, out), lifecycle)
    finally:
        provider.stop()
    module = out / "states.py"
    module.write_text(fill_seed_lines(scaffold(out / PACT_NAME)))
    return out


def test_the_states_file_names_each_state_once_with_params_setup_and_data(stateful):
    hints = yaml.safe_load((stateful / HINTS).read_text())
    names = [(s["name"], s["params"]) for s in hints["states"]]
    assert names == [
        ("user does not exist", {"user": 103}),
        ("user exists", {"user": 103, "version": 2}),  # after the update: what the DELETE met
        ("user exists", {"user": 103}),
        ("users exist", {"ids": [101, 102, 103]}),
    ]
    exists = hints["states"][2]
    assert exists["interactions"] == ["GET /users/{id} returns 200", "PUT /users/{id} returns 200"]
    assert exists["data"]["name"] == "Katherine Johnson"
    (create,) = [hints["steps"][n] for n in exists["setup"]]
    assert (create["method"], create["path"], create["status"]) == ("POST", "/users", 201)
    assert {"at": ["body", "id"], "value": "103"} in create["capture"]
    assert "data" not in hints["states"][0] and hints["states"][0]["absent"] == "/users/103"


def verify_fresh(pact, states_module):
    provider = RunningProvider(empty=True)
    try:
        return verify(pact, provider.url, states=load_state_module(states_module).STATE_HANDLERS)
    finally:
        provider.stop()


def test_the_pact_verifies_against_an_empty_provider_with_the_scaffolded_states(stateful):
    result = verify_fresh(stateful / PACT_NAME, stateful / "states.py")
    assert result.ok, [(o.description, o.problems) for o in result.outcomes if not o.ok]
    assert len(result.outcomes) == 6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verification_does_not_depend_on_the_recorded_order(stateful, tmp_path, seed):
    pact = json.loads((stateful / PACT_NAME).read_text())
    random.Random(seed).shuffle(pact["interactions"])
    shuffled = tmp_path / PACT_NAME
    shuffled.write_text(json.dumps(pact))
    result = verify_fresh(shuffled, stateful / "states.py")
    assert result.ok, [(o.description, o.problems) for o in result.outcomes if not o.ok]


def verify_empty(pact, *options: str) -> int:
    """`pact-recorder verify PACT OPTIONS` against a provider started empty."""
    provider = RunningProvider(empty=True)
    try:
        return main(["verify", str(pact), "--provider-url", provider.url, *options])
    finally:
        provider.stop()


def test_without_states_the_empty_provider_fails_and_a_broken_handler_is_reported_as_such(stateful, tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text(scaffold(stateful / PACT_NAME))  # SEED lines left as they are: they raise
    code = verify_empty(stateful / PACT_NAME, "--states", str(broken), "--report", str(tmp_path / "report.json"))
    out = capsys.readouterr().out
    assert code == 1
    assert "STATE GET /users/{id} returns 200  (given user exists)" in out
    assert "provider state 'user exists' could not be set up: NotImplementedError: seed the data for " in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is False and any(i["state_failed"] for i in report["interactions"])


def test_verify_with_the_states_module_from_the_command_line(stateful, capsys):
    code = verify_empty(stateful / PACT_NAME, "--states", str(stateful / "states.py"))
    assert code == 0, capsys.readouterr().out


def test_states_from_the_recording_need_no_state_code_except_for_data_older_than_the_recording(stateful, capsys):
    code = verify_empty(stateful / PACT_NAME, "--states-from-recording")
    out = capsys.readouterr().out
    # Users 101 and 102 were there before the recording: the list's setup makes only 103. Everything
    # the consumer created itself verifies with no state code at all.
    assert "PASS  GET /users/{id} returns 200  (given user exists)" in out
    assert "PASS  PUT /users/{id} returns 200  (given user exists)" in out
    assert "PASS  DELETE /users/{id} returns 204  (given user exists)" in out
    assert "PASS  GET /users/{id} returns 404  (given user does not exist)" in out
    assert "PASS  POST /users returns 201" in out
    assert code == 0, out


def test_header_injects_the_credentials_a_recording_redacted(tmp_path, capsys):
    provider = RunningProvider(token="s3cr3t")
    try:
        record_through(recorder_args(provider.url, tmp_path), lambda url: lifecycle(url, token="s3cr3t"))
    finally:
        provider.stop()
    pact_text = (tmp_path / PACT_NAME).read_text()
    assert "s3cr3t" not in pact_text and "Bearer <redacted>" in pact_text
    (tmp_path / "states.py").write_text(fill_seed_lines(scaffold(tmp_path / PACT_NAME)))
    args = ["verify", str(tmp_path / PACT_NAME), "--states", str(tmp_path / "states.py")]
    fresh = RunningProvider(token="s3cr3t", empty=True)
    try:
        without = main([*args, "--provider-url", fresh.url])
        out_without = capsys.readouterr().out
        with_header = main([*args, "--provider-url", fresh.url, "--header", "Authorization: Bearer s3cr3t"])
        out_with = capsys.readouterr().out
    finally:
        fresh.stop()
    assert without == 1
    assert "status: expected 200 but was 401" in out_without
    assert "the provider says the request was unauthorised" in out_without
    assert with_header == 0, out_with


def test_a_states_module_without_a_handler_for_a_state_is_named_at_once(stateful, tmp_path, capsys):
    partial = tmp_path / "partial.py"
    partial.write_text("STATE_HANDLERS = {'users exist': lambda action, parameters: None}\n")
    code = verify_empty(stateful / PACT_NAME, "--states", str(partial))
    err = capsys.readouterr().err
    assert code == 2
    assert "--states: no handler for 2 provider state(s) the pact needs: 'user does not exist', 'user exists'" in err


def test_a_state_url_that_refuses_is_named_with_its_answer_at_once(stateful, capsys):
    class Refusing(JsonHandler):
        def do_POST(self):  # noqa: N802
            self.read_json()
            self.send_json(500, {"error": "no such state here"})

    with serving(Refusing) as url:
        code = verify_empty(stateful / PACT_NAME, "--state-url", f"{url}/state")
    out = capsys.readouterr().out
    assert code == 1
    assert f"provider state 'user exists' could not be set up: the state URL {url}/state answered 500" in out


def scaffold_endpoint(module_path):
    """The scaffold's `handle` behind an HTTP state-change endpoint, as its docstring's Flask example
    has it (an exception answers 500, as Flask would)."""
    module = load_state_module(module_path)

    class StateEndpoint(JsonHandler):
        def do_POST(self):  # noqa: N802
            body = self.read_json()
            try:
                self.send_json(200, module.handle(body["state"], body.get("action", "setup"), body.get("params")) or {})
            except Exception as e:  # noqa: BLE001 - what a web framework does with it
                self.send_json(500, {"error": repr(e)})

    return StateEndpoint


def test_the_scaffold_behind_a_state_url_answers_stateless_interactions_and_teardown(stateful, capsys):
    with serving(scaffold_endpoint(stateful / "states.py")) as url:
        code = verify_empty(stateful / PACT_NAME, "--state-url", f"{url}/_pact/provider_states")
    out = capsys.readouterr().out
    assert "PASS  POST /users returns 201" in out  # the core's call with no state, then teardown
    assert code == 0, out


def test_a_failing_state_endpoint_fails_fast_and_names_the_state_of_every_interaction_that_needs_it(
    stateful, tmp_path, capsys
):
    broken = tmp_path / "broken.py"
    broken.write_text(scaffold(stateful / PACT_NAME))  # SEED lines left as they are: they raise
    started = time.monotonic()
    with serving(scaffold_endpoint(broken)) as url:
        code = verify_empty(stateful / PACT_NAME, "--state-url", f"{url}/states")
    out = capsys.readouterr().out
    assert time.monotonic() - started < 30  # not the core's ~127 s of retries per interaction
    assert code == 1
    for interaction in ("DELETE /users/{id} returns 204", "GET /users/{id} returns 200", "PUT /users/{id} returns 200"):
        assert f"STATE {interaction}  (given user exists)" in out
    assert out.count(f"the state URL {url}/states answered 500") == 5, out
    assert "PASS  POST /users returns 201" in out


def test_a_state_url_that_is_not_there_is_named_with_its_status_for_each_state_and_only_for_them(
    stateful, users_provider, capsys
):
    wrong = users_provider().url + "/no/such/endpoint"  # the provider is up; its state endpoint is elsewhere
    code = verify_empty(stateful / PACT_NAME, "--state-url", wrong)
    out = capsys.readouterr().out
    assert code == 1
    assert out.count(f"could not be set up: the state URL {wrong} answered 404") == 5, out
    assert "PASS  POST /users returns 201" in out
    assert "(no state)" not in out
