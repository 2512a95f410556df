"""The pytest plugin records a consumer's test suite, unchanged, in reverse and in forward mode, and
gives the same files under pytest-xdist as in a serial run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recorder.verify import verify
from tests.conftest import ROOT, RunningProvider

SUITE = str(ROOT / "examples" / "users" / "tests")
PACT = "user-web-user-service.json"


def run_suite(provider: RunningProvider, out, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "USERS_URL": provider.url, "PACT_DO_NOT_TRACK": "true"}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            SUITE,
            "-q",
            "-p",
            "no:cacheprovider",
            "--pact-record",
            "--pact-consumer",
            "user-web",
            "--pact-out",
            str(out),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def recorded(out) -> dict:
    return json.loads((out / PACT).read_text())


def verifies(out) -> bool:
    fresh = RunningProvider()
    try:
        result = verify(out / PACT, fresh.url, fresh.state_url)
    finally:
        fresh.stop()
    return result.ok


@pytest.fixture
def provider():
    p = RunningProvider()
    yield p
    p.stop()


def reverse(provider):
    return ("--pact-target", f"user-service={provider.url}", "--pact-env", "user-service=USERS_URL")


def test_reverse_mode_records_the_suite_and_the_pact_verifies(provider, tmp_path):
    result = run_suite(provider, tmp_path, *reverse(provider))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pact-recorder" in result.stdout and f"Wrote {tmp_path / PACT}" in result.stdout
    pact = recorded(tmp_path)
    item = next(i for i in pact["interactions"] if i["description"] == "GET /users/{id} returns 200")
    assert item["comments"]["pactRecorder"]["tests"] == [
        "examples/users/tests/test_users_client.py::test_reads_a_user",
        "examples/users/tests/test_users_client.py::test_reads_another_user",
    ]
    assert item["comments"]["testname"] == "examples/users/tests/test_users_client.py::test_reads_a_user"
    assert verifies(tmp_path)


def test_forward_mode_records_the_suite_by_host(provider, tmp_path):
    host = provider.url.removeprefix("http://")
    result = run_suite(provider, tmp_path, "--pact-forward", "--pact-provider", f"user-service={host}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(recorded(tmp_path)["interactions"]) == 3
    assert verifies(tmp_path)


def test_xdist_gives_the_same_bytes_as_a_serial_run(provider, tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert run_suite(provider, serial, *reverse(provider)).returncode == 0
    result = run_suite(provider, parallel, *reverse(provider), "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (PACT, "user-web-user-service.states.yaml"):
        assert (parallel / name).read_bytes() == (serial / name).read_bytes(), name
    assert not (parallel / ".pact-recorder-parts").exists()


def test_the_plugin_is_off_unless_asked_and_options_are_checked(provider, tmp_path):
    env = {**os.environ, "USERS_URL": provider.url}
    off = subprocess.run(
        [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert off.returncode == 0 and "pact-recorder" not in off.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider", "--pact-record"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert bad.returncode != 0 and "--pact-record needs --pact-consumer NAME" in bad.stderr
