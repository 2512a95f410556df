"""A recorded pact verifies green against its real provider started empty, with no state code written
by hand: each state is set up by replaying the recorded requests that made it (`verify
--states-from-recording`). The docstore example has nested resources with literal names and generated
ids, 201/200/404/412/304 for the same request, ETags with If-Match / If-None-Match, cursor pagination,
and an account created with a password then used for Basic auth."""

from __future__ import annotations

import json
import random
import shutil

import pytest
import yaml

from examples import procs
from examples.docstore.consumer import exercise
from recorder.cli import main
from tests.conftest import ROOT, record_through, recorder_args

CONSUMER, PROVIDER = "web", "docstore"
PACT = f"{CONSUMER}-{PROVIDER}.json"
HINTS = f"{CONSUMER}-{PROVIDER}.states.yaml"


def provider(*options: str) -> procs.Process:
    return procs.start(procs.python("-m", "examples.docstore.provider", "--port", "0", *options), cwd=str(ROOT))


def record(out) -> None:
    running = provider()
    try:
        record_through(recorder_args(running.url, out, consumer=CONSUMER, provider=PROVIDER), exercise)
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
    assert "PASS  PUT /stores/main/collections/orders/records/r1 returns 201  (given account exists, store exists, collection exists, record does not exist)" in out
    assert "PASS  PUT /stores/main/collections/orders/records/r1 returns 200  (given account exists, store exists, collection exists, record exists)" in out


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
            ["verify", str(recorded / PACT), "--provider-url", fresh.url, "--states-from-recording",
             "--reset-url", f"{fresh.url}/__flush__"]
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
        "account does not exist", "account exists", "collection does not exist", "collection exists",
        "record does not exist", "record exists", "records exist", "store does not exist", "store exists",
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
        return [(s["name"], sorted(s["params"]), len(s.get("setup", []))) for s in yaml.safe_load(states_file.read_text())["states"]]

    assert sorted(shape(recorded / HINTS)) == sorted(shape(tmp_path / HINTS))
