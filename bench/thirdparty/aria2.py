"""Record aria2's JSON-RPC interface while aria2p's own test suite runs, then verify the pact against a fresh aria2c.

    .venv/bin/python bench/thirdparty/aria2.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
a secret it needs), that refusal and its message are the first figure, and verify runs once more on another fresh
aria2c with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run in any
case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the RPC secret as its calls carry it
(`token:SECRET`), as the operator who started the daemon with `--rpc-secret` would give it.

What it does, each phase timed:
  setup    Debian's `aria2` (aria2c 1.36, the provider; `apt-get install` when no aria2c is on PATH, under the
           policy-rc.d that denies service starts), and a venv of its own under .venv/thirdparty/aria2/ with
           aria2p[tui] (the consumer) and what its tests import, pinned; aria2p's sdist, which ships its tests/,
           unpacked beside it. Each phase runs a copy of that tests/ folder in its own work dir (the suite
           writes its logs and its port reservations under its cwd).
  direct   the suite straight against its own aria2c processes (--no-direct leaves this out).
  record   the same suite, its clients pointed at `pact-recorder record --consumer aria2p --provider aria2` in
           front of the daemon's port; SIGTERM makes it write OUT/aria2p-aria2.json.
  verify   a fresh aria2c the harness starts (empty: no download; the suite's own file server on
           localhost:8779 running beside it, as in the suite), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh aria2c with what it asked for (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

How the suite is pointed at the server: aria2p's tests start an aria2c of their own in almost every test
(tests/conftest.py's `Aria2Server`: `--enable-rpc --rpc-listen-port=PORT --dir=TMP --conf-path=CONFIG
--input-file=SESSION`, PORT a random one of 15000-16000 from the `port` fixture), many of them preloaded with
a session file of downloads with fixed GIDs (0000000000000001, ...) from the suite's file server on
localhost:8779 (`tests/http_server.py`, uvicorn, started by a session fixture). A plugin the harness writes into
the work dir and loads with `-p` (aria2_harness.py) keeps every one of those daemons, fresh per test as the
suite wants, but always on one port of the harness's (DAEMON_PORT), adds the RPC secret (`--rpc-secret`: every
call carries `"token:SECRET"` as its first param; the two tests that set a secret of their own keep theirs) and
the options that keep aria2c off every network but the loopback (no DHT, LPD, peer exchange, no tracker, every
non-local HTTP/FTP download through a proxy on a closed port of 127.0.0.1); the `port` fixture answers
CLIENT_PORT, so that every client of the suite (`Aria2Server.client`, the CLI's `main(["-p", PORT])`, the
websocket notifications) talks to the recorder (record) or the daemon itself (direct: the same port); the
CLI's client gets the secret too. `Aria2Server.reach` (the fixture polling a daemon it just started) asks the
daemon directly, so the recorder sees only the tests' own calls; after each test pytest gets its SIGTERM back (a
test of aria2p's listener with `handle_signals=True` leaves a handler that ignores it). No test file is changed;
the suite's pytest.ini is used without its addopts (coverage, random order, reruns). The suite's downloads are all from
localhost:8779; the ones it names elsewhere (a torrent's and a metalink's mirrors, magnets) never leave the
machine: the proxy refuses them, no DHT, no tracker. Every process started is stopped on the way out, on
failure and on Ctrl-C or SIGTERM too.

The API: JSON-RPC 2.0 over one endpoint, `POST /jsonrpc` (`{"jsonrpc": "2.0", "id": ID, "method":
"aria2.tellStatus", "params": ["token:SECRET", GID, [keys]]}`, answered 200 with `result`, or 400 with
`error: {code, message}` for a call aria2 refuses), `system.multicall`, and the same over a websocket at
`/jsonrpc` for notifications (`aria2.onDownloadStart`, ...); downloads named by the 16-hex-digit GIDs the daemon
hands out (`aria2.addUri` answers one) or a session file gave.

First contact (aria2c 1.36.0, Debian 1.36.0-1; aria2p 0.12.3, its own suite, 617 tests): directly 612 passed, 2
skipped, 3 failed (test_multicall_method, a KeyError in the suite; the two TUI tests that need a clipboard,
pyperclip); through the recorder 605 passed, 10 failed: NOT the same. The 7 more, by class: the daemon gone
(shut down by the test, killed by its fixture, or never started) reaches the client as the proxy's 502 with an
HTML body where directly the connection is refused, so `requests.ConnectionError` becomes a JSONDecodeError
(test_shutdown_method, test_force_shutdown_method, test_main_returns_2_when_no_remote_running) and the
websocket's reconnection a `Handshake status 502` (test_listen_to_notifications,
test_listen_to_notifications_then_stop); a websocket the daemon drops when it is killed reaches the client as
a close frame, whose empty payload aria2p's listener reads as a message (`json.loads('')`:
test_listen_to_notifications_no_callbacks, test_listen_to_notifications_callbacks); the same 7 in two runs.
448 exchanges, 436 recorded (453 / 441 in another run; 5 with no response: the daemon gone; 7 websockets, which
Pact cannot describe), in 3 interactions, none with a provider state: `POST /jsonrpc` answered 200 with params
(401 exchanges, 165 distinct, every method the suite calls), 200 without params (9, `system.listMethods`), 400
(26). verify with
`--states-from-recording` alone: exit 0, 3 / 3 green, hollow: the operation is the body's `method` (matched
by type) and the download the params' GID, all at one path, so every call is one interaction whose example
is one call (`aria2.addUri` of a magnet); the answers' `application/json-rpc` is not read as JSON, so only
their top-level keys are checked (`result` or `error`, nothing in them); and the RPC secret, `token:SECRET` as
the first of `params`, is kept in the pact as sent (not redacted, so verify asks for nothing), while the
`sessionId` of an answer was redacted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

ARIA2P = "0.12.3"
PINS = [
    f"aria2p[tui]=={ARIA2P}",
    "annotated-doc==0.0.7",
    "annotated-types==0.8.0",
    "anyio==4.16.0",
    "asciimatics==1.15.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "colorama==0.4.6",
    "execnet==2.1.2",
    "fastapi==0.165.0",  # the suite's file server, tests/http_server.py
    "ghp-import==2.1.0",
    "griffe==2.4.1",  # test_api.py checks aria2p's API against its docs
    "griffecli==2.4.1",
    "griffelib==2.4.1",
    "h11==0.16.0",
    "idna==3.21",
    "iniconfig==2.3.1",
    "Jinja2==3.1.6",
    "loguru==0.7.3",
    "Markdown==3.11.4",
    "MarkupSafe==3.0.4",
    "mergedeep==1.3.4",
    "mkdocs==1.6.1",
    "mkdocs-autorefs==1.4.5",
    "mkdocs-get-deps==0.2.2",
    "mkdocstrings==1.0.8",
    "opentelemetry-api==1.45.3",
    "packaging==26.4",
    "pathspec==1.1.1",
    "pillow==13.0.0",
    "platformdirs==4.14.9",
    "pluggy==1.7.0",
    "psutil==7.2.2",
    "pydantic==2.14.4",
    "pydantic_core==2.50.5",
    "pyfiglet==1.0.4",
    "Pygments==2.21.0",
    "pymdown-extensions==13.1.2",
    "pyperclip==1.11.0",
    "pytest==9.2.0",
    "pytest-xdist==3.8.0",  # the suite's session fixture asks for `worker_id`
    "python-dateutil==4.0.0",
    "PyYAML==6.0.4",
    "pyyaml_env_tag==1.1",
    "requests==2.34.2",
    "responses==0.26.3",  # test_client.py mocks some answers
    "starlette==1.10.0",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
    "tzdata==2026.6",
    "urllib3==2.8.0",
    "uvicorn==0.55.0",
    "watchdog==7.1.1",
    "wcwidth==0.9.5",
    "websocket-client==1.9.2",
]
HOME = ROOT / ".venv" / "thirdparty" / "aria2"
CONSUMER, PROVIDER = "aria2p", "aria2"
SECRET = "aria2-harness-secret-5"  # the daemons' --rpc-secret
FILE_SERVER_PORT = 8779  # tests/http_server.py, where every session file's download is


def offline(closed: int) -> list[str]:
    """aria2c options that keep it on the loopback: no DHT, LPD, PEX, tracker; other hosts through a dead proxy."""
    return [
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--bt-exclude-tracker=*",
        f"--all-proxy=http://127.0.0.1:{closed}",
        "--no-proxy=localhost,127.0.0.1,::1",
    ]


PLUGIN = '''"""Written by bench/thirdparty/aria2.py: the suite's aria2c daemons on the harness's port, its clients on
the harness's client port (the recorder's when recording), the RPC secret set, no network but the loopback."""
import json
import os
import signal
import subprocess

import psutil

DAEMON_PORT = int(os.environ["ARIA2_HARNESS_DAEMON_PORT"])
CLIENT_PORT = int(os.environ["ARIA2_HARNESS_CLIENT_PORT"])
SECRET = os.environ["ARIA2_HARNESS_SECRET"]
OFFLINE = json.loads(os.environ["ARIA2_HARNESS_OFFLINE"])


def pytest_runtest_teardown(item):
    """aria2p's listener (`handle_signals=True`) makes SIGTERM only stop it: give pytest its SIGTERM back."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def pytest_configure(config):
    from aria2p import Client
    from aria2p._internal.cli import main as cli_main
    from tests import conftest

    server = conftest.Aria2Server
    init = server.__init__

    def __init__(self, tmp_dir, port, config=None, session=None, secret=""):
        init(self, tmp_dir, port, config, session, secret or SECRET)
        self.command = [a for a in self.command if not a.startswith("--rpc-listen-port=")]
        self.command += [f"--rpc-listen-port={DAEMON_PORT}", *OFFLINE]  # the suite's init added --rpc-secret
        self.direct = Client(port=DAEMON_PORT, secret=secret or SECRET, timeout=20)

    def reach(self, retries=5):
        """As the suite's, but asking the daemon itself, not the port its clients use."""
        import time

        import requests

        while retries:
            try:
                self.direct.list_methods()
            except requests.ConnectionError:
                time.sleep(0.1)
                retries -= 1
            else:
                return True
        return False

    def start(self):
        """As the suite's: first kill what still listens on the daemon's port."""
        for proc in psutil.process_iter():
            try:
                if f"--rpc-listen-port={DAEMON_PORT}" in proc.cmdline():
                    proc.kill()
                    proc.wait()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        while True:
            self.process = subprocess.Popen(self.command)
            if self.reach(retries=10):
                break
            self.kill()

    server.__init__ = __init__
    server.reach = reach
    server.start = start
    conftest.reserve_port = lambda: CLIENT_PORT
    conftest.release_port = lambda port: None

    def client(*args, **kw):
        """The CLI's client, with the daemon's secret when it is given none."""
        kw["secret"] = kw.get("secret") or SECRET
        return Client(*args, **kw)

    cli_main.Client = client
'''


# --- setup -------------------------------------------------------------------------------------------


def setup() -> tuple[Path, Path]:
    """aria2c on PATH, the suite's venv and aria2p's unpacked sdist: (venv, sdist dir)."""
    if not shutil.which("aria2c"):
        common.apt_install("aria2")
    return common.ensure_env(HOME, PINS, f"aria2p=={ARIA2P}")


def version() -> str:
    done = subprocess.run([shutil.which("aria2c") or "aria2c", "--version"], capture_output=True, text=True)
    m = re.search(r"aria2 version (\S+)", done.stdout)
    return m.group(1) if m else "?"


def clean_env(work: Path) -> dict:
    drop = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items() if k not in (*drop, "PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = str(work)  # no ~/.aria2 of the user's
    return env


# --- the suite ---------------------------------------------------------------------------------------


def copy_suite(sdist: Path, work: Path) -> Path:
    """A copy of the sdist's tests/ (without the logs it ships) and its pytest.ini (without its addopts)."""
    suite = work / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    shutil.copytree(sdist / "tests", suite / "tests", ignore=shutil.ignore_patterns("logs", "__pycache__"))
    ini = (sdist / "config" / "pytest.ini").read_text()
    ini = re.sub(r"^addopts =\n(?:[ \t]+.*\n)*", "", ini, flags=re.M)
    (suite / "pytest.ini").write_text(ini)
    return suite


def run_suite(stack: ExitStack, venv: Path, sdist: Path, work: Path, daemon_port: int, client_port: int) -> dict:
    """aria2p's tests, their daemons on `daemon_port`, their clients on `client_port`."""
    work.mkdir(parents=True, exist_ok=True)
    suite = copy_suite(sdist, work)
    plugin = work / "plugin"
    plugin.mkdir(exist_ok=True)
    (plugin / "aria2_harness.py").write_text(PLUGIN)
    env = clean_env(work)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin), str(suite)])
    env["ARIA2_HARNESS_DAEMON_PORT"] = str(daemon_port)
    env["ARIA2_HARNESS_CLIENT_PORT"] = str(client_port)
    env["ARIA2_HARNESS_SECRET"] = SECRET
    env["ARIA2_HARNESS_OFFLINE"] = json.dumps(offline(free_port()))
    env["PYTEST_LOG_LEVEL"] = "INFO"
    args = ["tests", "-c", str(suite / "pytest.ini"), "--rootdir", str(suite), "-p", "aria2_harness"]
    return common.run_pytest(stack, venv / "bin" / "python", args, work, cwd=suite, env=env)


# --- a daemon for the verifier -----------------------------------------------------------------------


def start_file_server(stack: ExitStack, venv: Path, sdist: Path, work: Path) -> None:
    """The suite's own file server (tests/http_server.py) on localhost:8779, where its downloads are."""
    work.mkdir(parents=True, exist_ok=True)
    suite = copy_suite(sdist, work)
    cmd = [str(venv / "bin" / "python"), "-m", "uvicorn", "tests.http_server:app", "--port", str(FILE_SERVER_PORT)]
    log = work / "http_server.log"
    proc = start(stack, cmd, log, cwd=suite, env=clean_env(work))
    wait_http(f"http://127.0.0.1:{FILE_SERVER_PORT}/1024", proc, log)


def start_daemon(stack: ExitStack, sdist: Path, work: Path) -> str:
    """A fresh, empty aria2c (the suite's default config, the secret, offline) in `work`; its URL once it answers."""
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [shutil.which("aria2c") or "aria2c", f"--dir={downloads}", "--file-allocation=none", "--enable-rpc=true"]
    cmd += [f"--rpc-listen-port={port}", f"--rpc-secret={SECRET}", "--log-level=info", f"--log={work / 'aria2c.log'}"]
    cmd += [f"--conf-path={sdist / 'tests' / 'data' / 'configs' / 'default.conf'}", *offline(free_port())]
    log = work / "aria2c.out"
    proc = start(stack, cmd, log, cwd=work, env=clean_env(work))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/jsonrpc?method=system.listMethods&id=1", proc, log)
    return url


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the RPC secret as aria2's calls carry it,
    `token:SECRET` (the recording redacts that whole param, named after its array: `params`)."""
    return [
        arg
        for name in re.findall(r"^\s+(\S+): needed by", message, re.M)
        for arg in ("--secret", f"{name}=token:{SECRET}")
    ]


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        venv, sdist = setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            port = free_port()
            direct_run = run_suite(stack, venv, sdist, work / "direct", port, port)
    out = work / "record"
    out.mkdir(parents=True, exist_ok=True)
    with timed(seconds, "record"), ExitStack() as stack:
        daemon_port = free_port()
        target = f"http://127.0.0.1:{daemon_port}"
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, target, out)
        recorded = run_suite(stack, venv, sdist, out, daemon_port, int(url.rsplit(":", 1)[1].strip("/")))
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        start_file_server(stack, venv, sdist, work / "verify" / "files")
        daemon = start_daemon(stack, sdist, work / "verify" / "daemon")
        report, outcome = common.verify_outcome(stack, pact, daemon, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh daemon
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            start_file_server(stack, venv, sdist, work / "verify2" / "files")
            daemon = start_daemon(stack, sdist, work / "verify2" / "daemon")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, daemon, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_failures(direct_run, recorded)
    if same:
        print(f"transparency: {'same' if same['same'] else 'NOT the same'} failing tests directly and recorded"
              + "".join(f"; only directly: {t}" for t in same["failing_only_direct"])
              + "".join(f"; only recorded: {t}" for t in same["failing_only_recorded"]))  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "aria2": version(),
        "aria2p": ARIA2P,
        "pins": PINS,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("aria2", __doc__, phases, sys.argv[1:], setup))
