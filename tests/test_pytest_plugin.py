"""The pytest plugin records a consumer's test suite, unchanged, in reverse and in forward mode, and
gives the same files under pytest-xdist as in a serial run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recorder.verify.run import verify
from tests.conftest import ROOT, RunningProvider
from tests.test_merge import HAND_WRITTEN

SUITE = str(ROOT / "examples" / "users" / "tests")
PACT = "user-web-user-service.json"


def run_suite(
    provider: RunningProvider, out, *options: str, url: str | None = None, suite: str = SUITE
) -> subprocess.CompletedProcess:
    # HOME of its own: mitmproxy's CA goes to ~/.mitmproxy by default, and tests never touch the real one.
    home = out.parent / f"{out.name}-home"
    env = {**os.environ, "USERS_URL": url or provider.url, "PACT_DO_NOT_TRACK": "true", "HOME": str(home)}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            suite,
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


SECRET_SUITE = """
import os, pathlib, urllib.request

TOKEN = "s3cr3t-0123456789abcdef0123456789"


def get(path):
    request = urllib.request.Request(os.environ["USERS_URL"] + path, headers={"Authorization": "Bearer " + TOKEN})
    return urllib.request.urlopen(request).read()


def test_reads_a_user():
    get("/users/101")


def test_what_waits_on_disk_holds_no_secret():
    get("/users/102")
    parts = list(pathlib.Path(os.environ["PACT_OUT"], ".pact-recorder-parts").glob("*.part"))
    assert any(p.stat().st_size > 0 for p in parts)  # this worker's, at least
    assert not any(TOKEN.encode() in p.read_bytes() for p in parts)
"""


def test_a_suite_is_kept_on_disk_encrypted_until_recorded_and_old_parts_never_count(provider, tmp_path, monkeypatch):
    suite = tmp_path / "suite" / "test_secret.py"
    suite.parent.mkdir()
    suite.write_text(SECRET_SUITE)
    out = tmp_path / "pacts"
    (out / ".pact-recorder-parts").mkdir(parents=True)
    (out / ".pact-recorder-parts" / "gw7.part").write_bytes(b"left by a run that was killed")
    monkeypatch.setenv("PACT_OUT", str(out))
    result = run_suite(provider, out, *reverse(provider), "-n", "2", suite=str(suite.parent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [i["description"] for i in recorded(out)["interactions"]] == ["GET /users/{id} returns 200"]
    assert not any(b"s3cr3t" in p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert not (out / ".pact-recorder-parts").exists()


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
    rules = tmp_path / "rules.yaml"
    rules.write_text("select:\n  - {name: x, methd: [GET]}\n")
    for options, message in (
        (["--pact-rules", str(rules)], f"pact-recorder: {rules}:2: select rule 'x': unknown key 'methd'"),
        (["--pact-upstream-ca", str(tmp_path / "none.pem")], f"upstream CA {tmp_path / 'none.pem'}: no such file"),
        (["--pact-target", "orders=ftp://x"], "--pact-target 'orders=ftp://x': expected an http(s) URL"),
        (
            ["--pact-forward", "--pact-provider", "orders=a/b"],
            "--pact-provider 'orders=a/b': in forward mode expected NAME=HOST[:PORT]",
        ),
    ):
        result = run_suite(provider, tmp_path, *reverse(provider), *options)
        assert result.returncode != 0 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_the_ca_and_its_private_key_never_land_in_the_pacts_folder(provider, tmp_path):
    out = tmp_path / "pacts"
    result = run_suite(provider, out, *reverse(provider))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.rglob("*")) == [PACT, "user-web-user-service.states.yaml"]
    home_ca = tmp_path / "pacts-home" / ".mitmproxy" / "mitmproxy-ca.pem"  # the user's mitmproxy confdir
    assert home_ca.is_file()
    confdir = tmp_path / "conf"  # or the one the user names
    host = provider.url.removeprefix("http://")
    result = run_suite(
        provider, out, "--pact-forward", "--pact-provider", f"user-service={host}", "--pact-confdir", str(confdir)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (confdir / "mitmproxy-ca.pem").is_file() and (confdir / "pact-recorder-ca-bundle.pem").is_file()
    assert sorted(p.name for p in out.rglob("*")) == [PACT, "user-web-user-service.states.yaml"]


def test_https_providers_record_through_the_plugin_s_forward_proxy(tmp_path):
    """The suite trusts the recorder's CA through the bundle the plugin points SSL_CERT_FILE at; the
    recorder trusts the provider's self-signed certificate through --pact-upstream-ca."""
    import ssl

    from tests.test_modes import self_signed

    pem, key = self_signed(tmp_path)
    users = RunningProvider()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem, key)
    users.server.socket = context.wrap_socket(users.server.socket, server_side=True)
    host = users.url.removeprefix("http://")
    try:
        result = run_suite(
            users,
            tmp_path,
            "--pact-forward",
            "--pact-provider",
            f"user-service={host}",
            "--pact-upstream-ca",
            str(pem),
            url=f"https://{host}",
        )
    finally:
        users.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(recorded(tmp_path)["interactions"]) == 3


def test_merge_keeps_what_the_existing_pact_has(provider, tmp_path):
    assert run_suite(provider, tmp_path, *reverse(provider)).returncode == 0
    pact = recorded(tmp_path)
    pact["interactions"].append(HAND_WRITTEN)
    (tmp_path / PACT).write_text(json.dumps(pact))
    result = run_suite(provider, tmp_path, *reverse(provider), "--pact-merge")
    assert result.returncode == 0, result.stdout + result.stderr
    assert HAND_WRITTEN in recorded(tmp_path)["interactions"]
