"""Record Radicale while the caldav library's own functional tests run, then verify the pact against a fresh Radicale.

    .venv/bin/python bench/thirdparty/radicale.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `make setup`). `verify` always gets `--states-from-recording` and the suite's real credentials;
everything after `--` is added as it is, e.g. `-- -v`.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/radicale/ with Radicale and caldav (pinned, from PyPI)
           and caldav's sdist unpacked there: its tests ship only in it.
  direct   a fresh Radicale (its own process on a free port of 127.0.0.1, filesystem storage in a temp
           folder, htpasswd auth with the one account the suite uses) and caldav's functional tests
           (tests/test_caldav.py, the class it generates per configured server) run against it, unmodified
           (--no-direct leaves this out: ~25 s).
  record   another fresh Radicale, `pact-recorder record --consumer caldav --provider radicale` in front of
           it, the same tests pointed at the recorder; SIGTERM makes it write OUT/caldav-radicale.json.
  verify   a third fresh Radicale (empty storage; only its htpasswd file knows the account, as server
           configuration), `pact-recorder verify --states-from-recording` with the suite's credentials as a
           Basic Authorization header, plus VERIFY_ARGS.
Then it prints the figures (tests passed through the recorder and directly, exchanges, interactions,
verified green / total) and the failures grouped by cause (status expected -> actual, header by name,
body, state setup), and writes them as JSON to DIR/figures.json (and --json FILE).

How the suite is pointed at a server, without changing a test file: tests/test_caldav.py generates one
class of functional tests, `TestForServer<name>`, per server its registry knows. The registry discovers
an in-process Radicale itself (it imports radicale), but also reads a config file from
~/.config/caldav/test_servers.yaml; so HOME is a folder of ours holding one with an `external` server
named HarnessRadicale (URL, account, and the suite's own `radicale` compatibility profile), the
embedded and docker servers are switched off with the suite's own PYTHON_CALDAV_TEST_EMBEDDED=0 /
PYTHON_CALDAV_TEST_DOCKER=0, and only TestForServerHarnessRadicale is run. Unlike the in-process
fixture (auth `none`, which has to MKCOL the principal first), htpasswd auth makes Radicale create
the principal collection at the first authenticated request, so the suite needs no set-up of ours.
Radicale's `[auth] delay` (a random ~1 s sleep after each 401, against brute force) is 0 here: the
client's first request is always answered 401 and the sleep only slows the run.
"""

from __future__ import annotations

import base64
import os
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, timed, wait_http  # noqa: E402

CALDAV = "3.6.0"
PINS = [
    "radicale==3.9.0",
    f"caldav=={CALDAV}",
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",  # the sdist's pytest config sets asyncio_mode
    "vobject==0.9.9",
    "proxy.py==2.4.10",  # imported by tests/test_caldav.py (its TestProxy class, not run here)
    "tzlocal==5.4.5",
]
HOME = ROOT / ".venv" / "thirdparty" / "radicale"
SERVER = "HarnessRadicale"
SUITE = [f"tests/test_caldav.py::TestForServer{SERVER}", "-o", "asyncio_default_fixture_loop_scope=function"]
AUTH = ("user1", "p4ssw0rd")  # the suite's account is user1 (caldav_test_servers.yaml.example); any password


# --- Radicale ----------------------------------------------------------------------------------------


def radicale_config(work: Path, port: int) -> Path:
    (work / "collections").mkdir(parents=True, exist_ok=True)
    users = work / "users"
    users.write_text(f"{AUTH[0]}:{AUTH[1]}\n")
    path = work / "radicale.conf"
    path.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n\n"
        f"[storage]\nfilesystem_folder = {work / 'collections'}\n\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n\n"
        "[logging]\nlevel = info\n"
    )
    return path


def start_radicale(stack: ExitStack, venv: Path, work: Path) -> str:
    """A fresh, empty Radicale; its base URL once it answers (302 at /: a redirect to its web UI)."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "radicale.log"
    cmd = [str(venv / "bin" / "python"), "-m", "radicale", "--config", str(radicale_config(work, port))]
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, log, ok=(200, 302))
    return url


# --- the suite ---------------------------------------------------------------------------------------


def suite_home(work: Path, server_url: str) -> Path:
    """A HOME whose ~/.config/caldav/test_servers.yaml names one external server: `server_url`."""
    home = work / "home"
    conf = home / ".config" / "caldav"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "test_servers.yaml").write_text(
        "test-servers:\n"
        f"  {SERVER}:\n"
        "    type: external\n"
        "    enabled: true\n"
        f"    url: {server_url}/{AUTH[0]}\n"
        f"    username: {AUTH[0]}\n"
        f"    password: {AUTH[1]}\n"
        "    features: radicale\n"
    )
    return home


def run_suite(stack: ExitStack, venv: Path, sdist: Path, server_url: str, work: Path) -> dict:
    tmp = work / "tmp"  # the suite's per-server lock files live in TMPDIR: ours, not another run's
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(suite_home(work, server_url)),
        "TMPDIR": str(tmp),
        "PYTHON_CALDAV_TEST_EMBEDDED": "0",
        "PYTHON_CALDAV_TEST_DOCKER": "0",
    }
    return common.run_pytest(stack, venv / "bin" / "python", SUITE, work, cwd=sdist, env=env)


# --- phases ------------------------------------------------------------------------------------------


def setup() -> tuple[Path, Path]:
    return common.ensure_env(HOME, PINS, f"caldav=={CALDAV}")


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        venv, sdist = setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_radicale(stack, venv, work / "direct" / "radicale")
            direct_run = run_suite(stack, venv, sdist, server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_radicale(stack, venv, out / "radicale")
        recorder, url, log = common.start_recorder(stack, "caldav", "radicale", server, out)
        recorded = run_suite(stack, venv, sdist, url, out)
        common.finish_recording(recorder, log)
    pact = out / "caldav-radicale.json"
    token = base64.b64encode(":".join(AUTH).encode()).decode()
    args = ["--states-from-recording", "--header", f"Authorization: Basic {token}", *verify_args]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_radicale(stack, venv, work / "verify" / "radicale")
        report = common.run_verify(stack, pact, server, work / "verify", args)
    return {
        "caldav": CALDAV,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": args[:2] + ["Authorization: Basic <redacted>"] + args[3:],
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("radicale", __doc__, phases, sys.argv[1:], setup))
