"""`infer` on a large capture shows a progress bar on a terminal, and nothing of the kind when its output
goes to a file or a pipe (CI logs stay clean)."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from mitmproxy import http, io
from mitmproxy.test import tflow

from recorder.cli.commands import PROGRESS_MIN_BYTES
from tests.conftest import CLI, ROOT


def big_capture(path):
    body = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(1500)]}).encode()
    with open(path, "wb") as f:
        writer = io.FlowWriter(f)
        for i in range(PROGRESS_MIN_BYTES // len(body) + 10):
            req = http.Request.make("GET", f"http://api.test/items?page={i}", b"", {"Accept": "application/json"})
            resp = http.Response.make(200, body, {"Content-Type": "application/json"})
            writer.add(tflow.tflow(req=req, resp=resp))
    assert path.stat().st_size >= PROGRESS_MIN_BYTES


def infer(capture, out, terminal: bool) -> str:
    args = [CLI, "infer", str(capture), "--consumer", "web", "--provider", "api", "--out", str(out)]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    if not terminal:
        result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=follower, cwd=ROOT, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(120) == 0
    return b"".join(chunks).decode(errors="replace")


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(tmp_path):
    capture = tmp_path / "big.mitm"
    big_capture(capture)
    shown = infer(capture, tmp_path / "tty", terminal=True)
    assert "inferring big.mitm" in shown
    assert "recorded into 1 interaction(s)" in shown
    piped = infer(capture, tmp_path / "pipe", terminal=False)
    assert "inferring" not in piped and "\x1b[" not in piped
    assert "recorded into 1 interaction(s)" in piped
