"""A recorded pact carries what its verification needs, so that it verifies from wherever pacts live: alone
at a URL (as a broker serves it), or from a Pact Broker asked for a provider's pacts, with the results
published back through the Pact core (what `can-i-deploy` reads). No broker can be installed here: the
broker is tests/broker_double.py, which answers the broker's documented resources; the pacts are
published into it by the real `pact broker publish`."""

from __future__ import annotations

import functools
import json
import subprocess
from http.server import SimpleHTTPRequestHandler

import pytest

from examples.jsonserver import serving
from recorder.cli.commands import main
from tests.broker_double import broker
from tests.conftest import BIN
from tests.test_states_from_recording import PACT, provider, record

PROVIDER = "docstore"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("docstore")
    record(out)
    return out


@pytest.fixture
def alone(recorded, tmp_path):
    """The pact copied alone into a folder served over HTTP: nothing beside it."""
    (tmp_path / PACT).write_bytes((recorded / PACT).read_bytes())
    with serving(functools.partial(_Quiet, directory=str(tmp_path))) as url:
        yield f"{url}/{PACT}"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def verify(*args: str, provider_options: tuple[str, ...] = ()) -> tuple[int, str]:
    fresh = provider(*provider_options)
    try:
        return main(["verify", *args, "--provider-url", fresh.url]), ""
    finally:
        fresh.stop()


def publish_with_the_pact_cli(recorded, url: str, *auth: str) -> None:
    """`pact broker publish`, as a consumer's CI runs it."""
    done = subprocess.run(
        [str(BIN / "pact"), "broker", "publish", str(recorded / PACT), "-b", url, "-a", "1.0.0", "--branch", "main",
         "--retries", "0", *auth],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pact_alone_at_a_url_verifies_from_empty_with_the_states_it_carries(alone, capsys):
    code, _ = verify(alone, "--states-from-recording")
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Verifying {alone} against" in out
    assert "28 of 28 interaction(s) passed: the pact verified" in out


def test_the_pact_alone_still_goes_red_when_the_provider_breaks_it(alone, capsys):
    code, _ = verify(alone, "--states-from-recording", provider_options=("--break", "rename-field"))
    out = capsys.readouterr().out
    assert code == 1
    assert "last_modified" in out and "STATE" not in out


def test_a_v3_pact_alone_carries_its_evidence_and_still_names_the_secret_it_needs(tmp_path, capsys):
    record(tmp_path, "--spec", "v3")
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / PACT).write_bytes((tmp_path / PACT).read_bytes())
    with serving(functools.partial(_Quiet, directory=str(alone))) as url:
        code, _ = verify(f"{url}/{PACT}", "--states-from-recording")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "28 of 28 interaction(s) passed" in out


def test_verify_from_a_broker_publishes_the_results_and_the_branch(recorded, capsys):
    with broker(token="t0ken") as held:
        publish_with_the_pact_cli(recorded, held.url, "-k", "t0ken")
        code, _ = verify(
            "--broker-url", held.url, "--provider", PROVIDER, "--broker-token", "t0ken",
            "--consumer-version-selector", '{"mainBranch": true}', "--states-from-recording",
            "--publish", "--provider-app-version", "2.0.0", "--provider-branch", "main",
        )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "28 of 28 interaction(s) passed: the pact verified" in out
    assert "NOTE  the results were published as provider version 2.0.0 on branch main" in out
    assert held.asked[0]["consumerVersionSelectors"] == [{"mainBranch": True}]
    [result] = held.results
    assert result["success"] is True and result["providerApplicationVersion"] == "2.0.0"
    assert held.branches == [(PROVIDER, "main", "2.0.0")]
    assert held.authorizations == {"Bearer t0ken"}  # the token went with every request, and nowhere else


def test_a_red_verification_is_published_as_a_failure(recorded, capsys):
    with broker() as held:
        publish_with_the_pact_cli(recorded, held.url)
        code, _ = verify(
            "--broker-url", held.url, "--provider", PROVIDER, "--states-from-recording",
            "--publish", "--provider-app-version", "2.0.1", provider_options=("--break", "rename-field"),
        )  # fmt: skip
    assert code == 1
    [result] = held.results
    assert result["success"] is False and result["providerApplicationVersion"] == "2.0.1"
    assert any("last_modified" in m["description"] for r in result["testResults"] for m in r.get("mismatches", []))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--publish"], "--publish needs --provider-app-version VERSION"),
        ([], "verify: give the PACT to verify (a file or URL), or --broker-url and --provider"),
        (["--broker-url", "{broker}"], "--broker-url needs --provider NAME"),
        (["--broker-url", "{broker}", "--provider", "nobody"], "the broker holds no pact for provider 'nobody'"),
        (
            ["--broker-url", "{broker}", "--provider", "docstore", "--consumer-version-selector", "main"],
            "--consumer-version-selector 'main': expected a JSON object",
        ),
        (["{pact}", "--publish", "--provider-app-version", "1"], "did not come from a Pact Broker"),
        (["{broker}/nothing.json"], "nothing.json: answered 404"),
        (["{pact}", "--broker-token", "t", "--broker-username", "u"], "give one way to log in to the broker"),
    ],
)
def test_broker_mistakes_are_said_with_exit_2(alone, args, message, capsys):
    with broker() as held:
        given = [a.format(broker=held.url, pact=alone) for a in args]
        code = main(["verify", *given, "--provider-url", "http://127.0.0.1:9", "--states-from-recording"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_results_the_broker_refuses_are_said_and_fail_the_run(recorded, capsys):
    with broker() as held:
        publish_with_the_pact_cli(recorded, held.url)
        held.refuse_results = True
        code, _ = verify(
            "--broker-url", held.url, "--provider", PROVIDER, "--states-from-recording",
            "--publish", "--provider-app-version", "2.0.2",
        )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "28 of 28 interaction(s) passed" in out
    assert "ERROR the results were NOT published: Publishing of verification results failed" in out


def test_a_broker_that_refuses_the_credentials_says_which_options_give_them(capsys):
    with broker(token="right") as held:
        code = main(
            ["verify", "--broker-url", held.url, "--provider", "docstore", "--provider-url", "http://127.0.0.1:9"]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert "answered 401" in err and "--broker-token" in err


def test_a_pact_without_recorded_states_says_what_to_give_instead(tmp_path, capsys):
    pact = tmp_path / "hand-written.json"
    pact.write_text(json.dumps({"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": []}))
    code = main(["verify", str(pact), "--provider-url", "http://127.0.0.1:9", "--states-from-recording"])
    err = capsys.readouterr().err
    assert code == 2
    assert "carries no states from a recording and has no states file beside it" in err
