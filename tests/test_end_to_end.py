"""The whole path with real parts: provider, `pact-recorder record`, consumer, Pact core verifier."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from examples import procs
from examples.users.consumer import exercise
from recorder.pact.core_parser import parse
from tests.conftest import (
    CONSUMER,
    PACT_NAME,
    PROVIDER,
    ROOT,
    RunningProvider,
    cli,
    mitmdump_args,
    record_through,
    recorder_args,
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The example consumer's traffic recorded by `pact-recorder record`, stopped with SIGTERM."""
    out = tmp_path_factory.mktemp("recorded")
    provider = RunningProvider()
    try:
        recorder = record_through(recorder_args(provider.url, out), exercise)
    finally:
        provider.stop()
    assert f"Wrote {out / PACT_NAME}" in recorder.output
    return out


def test_record_prints_one_listening_line_then_what_it_wrote(recorded):
    pact = json.loads((recorded / PACT_NAME).read_text())
    assert [i["description"] for i in pact["interactions"]] == [
        "GET /users returns 200",
        "POST /users returns 201",
        "GET /users/{id} returns 200",
        "GET /users/{id} returns 404",
    ]
    assert (recorded / f"{CONSUMER}-{PROVIDER}.states.yaml").exists()


def test_recorded_pact_verifies_green_against_a_fresh_provider(recorded, users_provider):
    fresh = users_provider()
    result = cli("verify", str(recorded / PACT_NAME), "--provider-url", fresh.url, "--state-url", fresh.state_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 4
    assert "4 of 4 interaction(s) passed: the pact verified" in result.stdout


@pytest.mark.parametrize(
    ("breaking", "named"),
    [
        ("rename-email", "Actual map is missing the following keys: email"),
        ("id-as-string", "body $.id: Expected '101' (String) to be an integer"),
    ],
)
def test_pact_goes_red_when_the_provider_breaks_the_contract(recorded, users_provider, breaking, named):
    broken = users_provider(breaking)
    result = cli("verify", str(recorded / PACT_NAME), "--provider-url", broken.url, "--state-url", broken.state_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  GET /users/{id} returns 200" in result.stdout
    assert named in result.stdout
    assert "the pact did NOT verify" in result.stdout


def test_core_parser_accepts_the_pact_as_v4(recorded):
    view = parse((recorded / PACT_NAME).read_text())
    assert (view.spec, view.interactions) == ("V4", 4)


def test_mitmdump_addon_and_infer_write_the_same_bytes_as_record(recorded, tmp_path, users_provider, mitm_confdir):
    """Same traffic, three front doors: `record`, `mitmdump -s addon` and `infer` over its dumps."""
    provider = users_provider()
    args = mitmdump_args(
        provider.url,
        mitm_confdir,
        f"pact_consumer={CONSUMER}",
        f"pact_provider={PROVIDER}",
        f"pact_out={tmp_path / 'addon'}",
        f"hardump={tmp_path / 'flows.har'}",
    )
    record_through([*args, "-w", str(tmp_path / "flows.mitm")], exercise, ready=procs.MITMDUMP_LISTENING)
    expected = (recorded / PACT_NAME).read_bytes()
    assert (tmp_path / "addon" / PACT_NAME).read_bytes() == expected
    for dump in ("flows.mitm", "flows.har"):
        out = tmp_path / dump.replace(".", "-")
        cli(
            "infer", str(tmp_path / dump), "--consumer", CONSUMER, "--provider", PROVIDER, "--out", str(out), check=True
        )
        assert (out / PACT_NAME).read_bytes() == expected, dump


def test_spec_v3_writes_a_pact_the_core_reads_as_v3_and_verifies(tmp_path, users_provider):
    provider = users_provider()
    record_through(recorder_args(provider.url, tmp_path, "--spec", "v3"), exercise, signal.SIGINT)
    text = (tmp_path / PACT_NAME).read_text()
    assert parse(text).spec == "V3"
    assert json.loads(text)["metadata"]["pactSpecification"]["version"] == "3.0.0"
    assert json.loads((tmp_path / f"{CONSUMER}-{PROVIDER}.evidence.json").read_text())["interactions"]
    fresh = users_provider()
    result = cli("verify", str(tmp_path / PACT_NAME), "--provider-url", fresh.url, "--state-url", fresh.state_url)
    assert result.returncode == 0, result.stdout


def test_demo_ends_by_saying_where_the_files_are_and_that_the_pact_verified(tmp_path):
    result = procs.subprocess.run(
        procs.python(str(ROOT / "examples" / "demo.py"), "--out", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    for consumer, provider in ((CONSUMER, PROVIDER), ("docstore-web", "docstore")):
        at = lines.index(f"Pact:   {tmp_path / f'{consumer}-{provider}.json'}")
        assert lines[at + 1 : at + 3] == [
            f"States: {tmp_path / f'{consumer}-{provider}.states.yaml'}",
            "The pact verified against a fresh provider.",
        ]
    assert "28 of 28 interaction(s) passed: the pact verified" in lines  # the docstore, from empty
