"""A suite we did not write: requests-futures' own tests, from its PyPI sdist and unmodified, run through
the pytest plugin's forward proxy against httpbin (the server they are written for, served by
pytest-httpbin). The pact they leave must verify green against a separately started httpbin.

This is the recipe "Recording a suite you did not write" of docs/suites.md, step for step."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile

from examples import procs
from recorder.record.proxy import free_port
from tests.conftest import ROOT, cli

SDIST = ROOT / ".venv" / "thirdparty" / "requests_futures-1.1.0.tar.gz"
FLASK_RUNNING = re.compile(r"Running on (http://[\d.]+:\d+)")


def test_requests_futures_own_suite_records_a_pact_that_httpbin_verifies(tmp_path):
    assert SDIST.exists(), f"{SDIST} is missing: scripts/bootstrap (run by make test) downloads it"
    with tarfile.open(SDIST) as sdist:
        sdist.extractall(tmp_path, filter="data")
    suite, pacts, port = tmp_path / "requests_futures-1.1.0", tmp_path / "pacts", free_port()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"]
        + ["--pact-record", "--pact-forward", "--pact-consumer", "requests-futures"]
        + ["--pact-provider", f"httpbin=127.0.0.1:{port}", "--pact-out", str(pacts)],
        cwd=suite,
        env={**os.environ, "HTTPBIN_HTTP_PORT": str(port), "PACT_DO_NOT_TRACK": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\b30 passed\b", run.stdout), run.stdout[-2000:]
    assert "[httpbin] Wrote" in run.stdout

    pact = json.loads((pacts / "requests-futures-httpbin.json").read_text())
    described = {i["description"] for i in pact["interactions"]}
    # Every method the suite uses, a form body and a JSON body told apart, the follow-up of a redirect.
    assert {
        "DELETE /delete returns 200",
        "HEAD /get returns 200",
        "OPTIONS /get returns 200",
        "PATCH /patch returns 200",
        "PUT /put returns 200",
        "POST /post returns 200 (form a)",
        "POST /post returns 200 (body a)",
        "GET /status/{id} returns 404",
    } <= described
    assert "skipped 6: excluded by select rule 'followed-redirects'" in run.stdout

    httpbin = procs.start(
        [sys.executable, "-m", "httpbin.core", "--host", "127.0.0.1", "--port", str(free_port())],
        ready=FLASK_RUNNING,
    )
    try:
        verified = cli("verify", str(pacts / "requests-futures-httpbin.json"), "--provider-url", httpbin.url)
    finally:
        httpbin.stop()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(described)} of {len(described)} interaction(s) passed" in verified.stdout
