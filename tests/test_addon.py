"""The addon's anatomy: options, cheap hooks that never raise into mitmproxy, writes on done/command."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from mitmproxy import http
from mitmproxy.exceptions import OptionsError
from mitmproxy.test import taddons, tflow

from recorder.addon import PactRecorder
from tests.conftest import mitmdump_args


def flow(path="/users/1", status=200, body=None):
    body = {"id": 1, "name": "Ada"} if body is None else body
    req = http.Request.make("GET", f"http://provider.test{path}", b"", {"Accept": "application/json"})
    resp = http.Response.make(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return tflow.tflow(req=req, resp=resp)


@pytest.fixture
def recording_ctx(tmp_path):
    addon = PactRecorder()
    with taddons.context(addon) as tctx:
        # In this process, where the tests can reach the recording (running() would start a child).
        tctx.configure(addon, pact_consumer="web", pact_provider="api", pact_out=str(tmp_path), pact_offload=False)
        yield addon, tctx


def test_once_running_a_child_process_records_and_done_writes_what_it_was_sent(tmp_path):
    addon = PactRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, pact_consumer="web", pact_provider="api", pact_out=str(tmp_path))
        addon.running()
        child = addon.worker.proc
        for f in (flow("/users/1"), flow("/users/2"), flow("/users/9", 404, {"error": "not found"})):
            addon.response(f)
        addon.error(tflow.tflow(err=True))
        addon.write()  # the pact.write command: the child writes now
        assert (tmp_path / "web-api.json").exists()
        asyncio.run(addon.done())
    assert child.poll() == 0  # finished, not left behind
    assert addon.recordings["api"].seen == 0  # nothing was recorded in this process
    pact = json.loads((tmp_path / "web-api.json").read_text())
    assert [i["description"] for i in pact["interactions"]] == [
        "GET /users/{id} returns 200",
        "GET /users/{id} returns 404",
    ]
    assert pact["metadata"]["pactRecorder"]["diagnostics"]["skipped"] == {"no response from the provider (error)": 1}


def test_every_response_is_recorded_and_done_writes_the_pact(recording_ctx, tmp_path):
    addon, tctx = recording_ctx
    for f in (flow("/users/1"), flow("/users/2"), flow("/users/9", 404, {"error": "not found"})):
        asyncio.run(tctx.cycle(addon, f))
    asyncio.run(addon.done())
    pact = json.loads((tmp_path / "web-api.json").read_text())
    assert [i["description"] for i in pact["interactions"]] == [
        "GET /users/{id} returns 200",
        "GET /users/{id} returns 404",
    ]


@pytest.mark.unit
def test_a_failing_exchange_is_counted_and_never_raises_into_mitmproxy(recording_ctx, monkeypatch, caplog):
    addon, tctx = recording_ctx

    def boom(exchange, **options):
        raise KeyError("bug")

    monkeypatch.setattr(addon.recordings["api"], "add", boom)
    for _ in range(3):
        addon.response(flow())  # must not raise
    assert addon.recordings["api"].skipped == {"internal error while recording (KeyError)": 3}
    assert sum("could not record" in r.getMessage() for r in caplog.records) == 1  # logged once per kind


@pytest.mark.unit
def test_upstream_errors_are_skipped_with_the_reason(recording_ctx):
    addon, _ = recording_ctx
    addon.error(tflow.tflow(err=True))
    assert addon.recordings["api"].skipped == {"no response from the provider (error)": 1}


@pytest.mark.unit
def test_merge_and_pending_are_options_too(recording_ctx):
    addon, tctx = recording_ctx
    tctx.configure(addon, pact_merge=True, pact_pending=True)
    settings = addon.recordings["api"].settings
    assert (settings.merge, settings.pending) == (True, True)


def test_the_pact_write_command_writes_now(recording_ctx, tmp_path):
    addon, _ = recording_ctx
    addon.response(flow())
    addon.write()
    assert (tmp_path / "web-api.json").exists()


@pytest.mark.unit
def test_a_bad_option_at_run_time_is_rejected_and_rolled_back(recording_ctx):
    addon, tctx = recording_ctx
    addon.running()
    with pytest.raises(OptionsError, match="spec: expected one of v4, v3, got 'v5'"):
        tctx.configure(addon, pact_spec="v5")
    assert addon.recordings["api"].settings.spec == "v4"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["pact_consumer=web", "pact_provider=api", "pact_spec=v5"],
            "pact_recorder: spec: expected one of v4, v3, got 'v5'",
        ),
        (
            ["pact_consumer=web/x", "pact_provider=api"],
            "pact_recorder: consumer 'web/x': must be a non-empty name without '/'",
        ),
        (
            ["pact_provider=api"],
            "pact_recorder: set both names, e.g. --set pact_consumer=user-web --set pact_provider=user-service",
        ),
        (["pact_consumer=web", "pact_provider=api", "pact_ouut=x"], "pact_recorder: unknown option(s) pact_ouut"),
    ],
)
def test_bad_options_under_mitmdump_stop_it_with_a_clear_message(sets, message, tmp_path):
    args = mitmdump_args("http://127.0.0.1:9", tmp_path, f"pact_out={tmp_path}", *sets)
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert message in out
    assert "Traceback" not in out
