"""Record WsgiDAV while webdavclient3's own integration tests run, then verify the pact against a fresh WsgiDAV.

    .venv/bin/python bench/thirdparty/wsgidav.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `--setup-only` once). `verify` always gets `--states-from-recording` and the suite's real credentials;
everything after `--` is added as it is, e.g. `-- -v`.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/wsgidav/ with WsgiDAV, cheroot and webdavclient3 (pinned,
           from PyPI) and webdavclient3's sdist unpacked there: its tests ship only in it.
  direct   a fresh WsgiDAV on 127.0.0.1:8585 (an empty root folder in the work dir, Basic auth with the
           suite's one account, in-memory locks and dead properties) and the suite's integration tests
           (tests/*_it.py: files and folders, PROPFIND listings and info, COPY/MOVE with a Destination,
           PROPPATCH, Overwrite, Cyrillic paths; no LOCK: the client has none) run against it, unmodified
           (--no-direct leaves this out: ~40 s).
  record   another fresh WsgiDAV on a free port, `pact-recorder record --consumer webdavclient3 --provider
           wsgidav` listening on 127.0.0.1:8585 in front of it, the same tests; SIGTERM makes it write
           OUT/webdavclient3-wsgidav.json.
  verify   a third fresh WsgiDAV (empty root; only its configuration knows the account), `pact-recorder
           verify --states-from-recording` with the suite's credentials as a Basic Authorization header,
           plus VERIFY_ARGS.
Then it prints the figures (tests passed through the recorder and directly, exchanges, interactions,
verified green / total) and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

How the suite is pointed at a server: it has no option for it. tests/base_client_it.py hard-codes
http://localhost:8585 with alice / secret1234 (upstream runs a WebDAV container there), so the server
(direct) or the recorder (record) listens on exactly 127.0.0.1:8585. webdavclient3 3.14.5 is the newest
sdist whose tests can run: 3.14.6's has no tests, 3.14.7's lacks tests/base_client_it.py. No sdist has the
three local files the tests upload (tests/test.txt, tests/compressed.txt, tests/тестовый.txt: in the
repository only); setup writes them with the content the tests assert they read back ("test content for
testing of webdav client"). No test file is changed. Every process started is stopped on the way out.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

WEBDAVCLIENT3 = "3.14.5"
PINS = [
    "wsgidav==4.4.0",
    "cheroot==11.1.2",
    f"webdavclient3=={WEBDAVCLIENT3}",
    "lxml==6.2.0",
    "requests==2.34.2",
    "python-dateutil==2.9.0.post0",
    "pytest==9.2.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "wsgidav"
VENV = HOME / "venv"
SDIST = HOME / f"webdavclient3-{WEBDAVCLIENT3}"
SUITE = [
    "tests/test_client_it.py",
    "tests/test_client_resource_it.py",
    "tests/test_cyrilic_client_it.py",
    "tests/test_multi_client_it.py",
    "tests/test_tailing_slash_client_it.py",
]
PORT = 8585  # tests/base_client_it.py: http://localhost:8585
AUTH = ("alice", "secret1234")  # tests/base_client_it.py
CONTENT = "test content for testing of webdav client"  # what test_download_from(_compressed) read back
LOCAL_FILES = ["test.txt", "compressed.txt", "тестовый.txt"]


# --- WsgiDAV -----------------------------------------------------------------------------------------


def start_wsgidav(stack: ExitStack, work: Path, port: int) -> str:
    """A fresh WsgiDAV on 127.0.0.1:port serving an empty folder; its URL once it answers (401: auth)."""
    work = work.resolve()
    root = work / "root"
    root.mkdir(parents=True)
    config = {
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": {"/": str(root)},
        "simple_dc": {"user_mapping": {"*": {AUTH[0]: {"password": AUTH[1]}}}},
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "lock_storage": True,
        "property_manager": True,
        "verbose": 3,
    }
    path = work / "wsgidav.json"
    path.write_text(json.dumps(config, indent=2))
    log = work / "wsgidav.log"
    proc = start(stack, [str(VENV / "bin" / "wsgidav"), "--config", str(path)], log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, log, ok=(401,))
    return url


def start_recorder(stack: ExitStack, target: str, out: Path) -> tuple[subprocess.Popen, Path]:
    """`pact-recorder record` on the suite's fixed address in front of `target`; (process, log) once it listens
    (common.start_recorder picks a free port; the suite cannot be told one)."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "record.log"
    cmd = [str(common.PACT_BIN), "record", "--consumer", "webdavclient3", "--provider", "wsgidav"]
    cmd += ["--target", target, "--listen", f"127.0.0.1:{PORT}", "--out", str(out)]
    proc = start(stack, cmd, log)
    deadline = time.monotonic() + common.READY_SECONDS
    while "listening on" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"pact-recorder record did not start listening on {PORT}:\n{tail(log)}")
        time.sleep(0.05)  # poll interval, not synchronisation
    return proc, log


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, work: Path) -> dict:
    """webdavclient3's integration tests against whatever listens on 127.0.0.1:8585."""
    return common.run_pytest(stack, VENV / "bin" / "python", SUITE, work, cwd=SDIST)


def setup() -> tuple[Path, Path]:
    venv, sdist = common.ensure_env(HOME, PINS, f"webdavclient3=={WEBDAVCLIENT3}")
    for name in LOCAL_FILES:
        if not (sdist / "tests" / name).is_file():
            (sdist / "tests" / name).write_text(CONTENT)
    return venv, sdist


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            start_wsgidav(stack, work / "direct", PORT)
            direct_run = run_suite(stack, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        wsgidav = start_wsgidav(stack, out / "wsgidav", free_port())
        recorder, log = start_recorder(stack, wsgidav, out)
        recorded = run_suite(stack, out)
        common.finish_recording(recorder, log)
    pact = out / "webdavclient3-wsgidav.json"
    token = base64.b64encode(":".join(AUTH).encode()).decode()
    with timed(seconds, "verify"), ExitStack() as stack:
        wsgidav = start_wsgidav(stack, work / "verify", free_port())
        args = ["--states-from-recording", "--header", f"Authorization: Basic {token}", *verify_args]
        report = common.run_verify(stack, pact, wsgidav, work / "verify", args)
    return {
        "webdavclient3": WEBDAVCLIENT3,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": verify_args,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("wsgidav", __doc__, phases, sys.argv[1:], setup))
