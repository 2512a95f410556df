"""Strict with what the consumer sends, but never stricter than reality: the Pact core's mock server,
serving an inferred pact, accepts every request the consumer made during the recording.

(Whether every interaction is then "received" is not asked: GET /users/{id} answered 200 and 404 are
two interactions with the same request, which one mock server cannot tell apart without states.)"""

from __future__ import annotations

import subprocess
import threading
import urllib.error
import urllib.request

import pytest
from mitmproxy import io

from examples import procs
from examples.shop import consumer as shop_consumer
from examples.shop.provider import make_server as shop_server
from examples.users import consumer as users_consumer
from examples.users.provider import make_server as users_server
from tests.conftest import BIN, mitmdump_args, record_through

PACT_CLI = str(BIN / "pact")


def record_with_dump(tmp_path, server, exercise, consumer, provider):
    """Record through mitmdump with our addon, keeping the raw flows too."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"http://127.0.0.1:{server.server_address[1]}"
    args = mitmdump_args(
        upstream, tmp_path / "conf", f"pact_consumer={consumer}", f"pact_provider={provider}", f"pact_out={tmp_path}"
    )
    try:
        record_through([*args, "-w", str(tmp_path / "flows.mitm")], exercise, ready=procs.MITMDUMP_LISTENING)
    finally:
        server.shutdown()
        server.server_close()
    return tmp_path / f"{consumer}-{provider}.json", tmp_path / "flows.mitm"


@pytest.mark.parametrize("example", ["users", "shop"])
def test_the_mock_server_accepts_every_recorded_request(example, tmp_path, mock_master):
    server, exercise = {
        "users": (users_server(0), users_consumer.exercise),
        "shop": (shop_server(0), shop_consumer.exercise),
    }[example]
    pact, flows = record_with_dump(tmp_path, server, exercise, "web", example)
    created = subprocess.run(
        [PACT_CLI, "mock", "create", "-p", str(mock_master), "-h", "127.0.0.1", "-f", str(pact)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = created.stdout.strip().rsplit(" ", 1)[-1]
    assert created.returncode == 0 and port.isdigit(), created.stdout + created.stderr
    with open(flows, "rb") as f:
        recorded = [flow.request for flow in io.FlowReader(f).stream()]
    assert recorded
    for rq in recorded:
        headers = {k: v for k, v in rq.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{rq.path}", data=rq.content or None, method=rq.method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode()
            assert status != 500, f"{rq.method} {rq.path} was not accepted: {body}"
        assert status < 500


def test_form_bodies_are_in_the_contract_values_loose_field_names_strict(tmp_path, mock_master):
    from dataclasses import replace

    from recorder.record.pipeline import Recording, Settings
    from tests.helpers import exchange

    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    recording = Recording(Settings("web", "api", tmp_path))
    recording.add(replace(exchange("POST", "/search", 200, {"hits": 1}, request_headers=form), request_body=b"q=ada"))
    (interaction,) = recording.interactions()
    assert interaction.request.body == "q=ada"
    recording.write()
    created = subprocess.run(
        [PACT_CLI, "mock", "create", "-p", str(mock_master), "-h", "127.0.0.1", "-f", str(tmp_path / "web-api.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = created.stdout.strip().rsplit(" ", 1)[-1]
    assert created.returncode == 0 and port.isdigit(), created.stdout + created.stderr

    def post(body: bytes) -> int:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/search", data=body, method="POST", headers=dict(form))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    assert post(b"q=grace") == 200  # another value of the same field: the consumer may send it
    assert post(b"x=grace") == 500  # another field: not what the contract says the consumer sends
