"""Record InfluxDB 1.x while influxdb-python's own server tests run against it, then verify the pact against a
fresh, empty InfluxDB.

    .venv/bin/python bench/thirdparty/influxdb.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `--setup-only` once). `verify` gets `--states-from-recording` and nothing else (the first contact).
Where it refuses to start (exit 2: the recording redacted the client's `Authorization` and nobody gave it), that
refusal and its message are the first figure, and verify runs once more with the least the message asks for:
VERIFY_ARGS (everything after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE`
for each NAME it names, VALUE what the suite itself uses: every client of the suite is root with an empty
password, which requests sends as `Authorization: Basic` of `root:` (auth is off: the server ignores it).

What it does, each phase timed:
  setup    influxd from Debian's `influxdb` (1.6.7; `apt-get install` when no `influxd` is on PATH; the system
           service is never started or used), and a venv of its own under .venv/thirdparty/influxdb/ with
           influxdb-python and what its tests import (pandas for the DataFrameClient, pytest), pinned, from PyPI.
           The wheel ships the server tests (influxdb/tests/server_tests/), so nothing is downloaded after setup.
  direct   a fresh influxd (`influxd -config FILE`: meta, data and WAL in the work dir, HTTP on a free port of
           127.0.0.1, the RPC/backup bind-address on another, reporting and the `_internal` monitor store off,
           no auth) and the suite run straight against it (--no-direct leaves this out).
  record   another fresh influxd, `pact-recorder record --consumer influxdb-python --provider influxdb` in
           front of it, the same tests pointed at the recorder; SIGTERM makes it write
           OUT/influxdb-python-influxdb.json.
  verify   a third fresh influxd (no database, no user), `pact-recorder verify --states-from-recording`; then,
           refused or asked to, again on a fresh influxd with the extra above (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and
--json FILE).

How the suite is pointed at a server: client_test_with_server.py's mixins (server_tests/base.py) call
`_setup_influxdb_server` to start an influxd of their own from a config template the package does not ship,
once per test (SimpleTests) or per class (CommonTests, which also creates database `db` before each test and drops
it after), and build their clients on `localhost` and that server's port. A pytest plugin the harness writes into
the work dir (`-p influx_here`) replaces those three functions of base.py: the clients (InfluxDBClient,
DataFrameClient, the gzip one) are built on the recorder's (or, directly, the server's) address instead, and where
the suite would start a new server, the plugin empties the one running (DROP every database and user) by talking
to it straight, not through the recorder, so each test still finds a server as fresh as upstream's. The plugin
also restores two names the suite imports that its pinned dependencies dropped (`pandas.util.testing`, gone in
pandas 2; `TestCase.assertEquals`, gone in Python 3.12). No test file is changed. Left out (-k): the UdpTests
classes (their writes go to influxd's UDP listener, which no HTTP recorder sees) and test_invalid_port_fails (no
server involved). The suite's own @unittest.skip tests skip.

The API, new to this project's pairs: one endpoint, `/query`, takes InfluxQL in its `q` parameter (GET for
SELECT and SHOW, POST for CREATE, DROP, ALTER, GRANT and SELECT INTO) and names the database in `db`; writes are
line protocol POSTed to `/write?db=...` (204, no body); results are JSON `results[].series[]` (columns, values);
errors are 200s with `results[].error` for a statement, 400/404 with `{"error": ...}` for a request.

Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (influxd 1.6.7~rc0, influxdb-python 5.3.2): 86 tests, 78 passed both directly and through the
recorder (the same 8 skip both ways: upstream's @unittest.skip; none fails; the Gzip* classes inherit the plain
mixins' setUp, so no request is gzipped); 310 exchanges, all recorded, into 5 interactions (none with a provider
state); verify refuses first (exit 2: `authorization` needed by 5 requests, the client's `Basic root:`, sent though
auth is off), then with `--secret authorization=Basic cm9vdDo=`: 4 / 5 green. Left, by class: a write to a database
that no setup creates, 1 (`POST /write?db=db` -> 404 `database not found`): the database is a resource named in a
query parameter (`db`), made by a statement inside another request's query parameter (`q=CREATE DATABASE "db"`),
so no state is inferred at all. The 4 greens hold little: the operation is the InfluxQL statement in `q`, a
parameter value, so every statement of one method and status falls into one interaction (`q` matched by `^.*$`,
19 distinct GET statements, over 20 POST ones: CREATE/DROP DATABASE, users, grants, retention policies, continuous
queries, SELECT INTO), and the client asks for MessagePack (`Accept: application/x-msgpack`), which influxd 1.6
answers, so no response body is inferred ("recorded without its content") and none is compared: the GET with bind
`params` passes on the empty server, where its answer is a 200 carrying `results[0].error: database not found`.
"""

from __future__ import annotations

import base64
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

PACKAGE = "influxdb"  # Debian bookworm: 1.6.7~rc0-1+b13
CLIENT = "5.3.2"
PINS = [
    f"influxdb=={CLIENT}",
    "msgpack==1.2.4",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "requests==2.34.2",
    "six==1.17.0",
    "urllib3==2.8.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.21",
    "pandas==2.3.3",
    "numpy==2.5.5",
    "tzdata==2026.6",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
    "setuptools==81.0.0",  # distutils (gone in Python 3.12), which server_tests/influxdb_instance.py imports
]
HOME = ROOT / ".venv" / "thirdparty" / "influxdb"
VENV = HOME / "venv"
SUITE = "server_tests/client_test_with_server.py"
LEFT_OUT = "not Udp and not test_invalid_port_fails"  # -k
CONSUMER, PROVIDER = "influxdb-python", "influxdb"
USER, PASSWORD = "root", ""  # every client the suite builds

CONFIG = """\
# written by bench/thirdparty/influxdb.py
reporting-enabled = false
bind-address = "127.0.0.1:{rpc}"

[meta]
  dir = "{root}/meta"
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = true

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = false
  log-enabled = true
  pprof-enabled = false
  unix-socket-enabled = false

[logging]
  level = "info"
  suppress-logo = true

[continuous_queries]
  enabled = true
  run-interval = "1s"
"""

PLUGIN = '''\
"""Written by bench/thirdparty/influxdb.py: points influxdb-python's server tests at INFLUX_CLIENT_URL (the
recorder, or the server) instead of an influxd they start themselves, and empties the server at INFLUX_SERVER_URL
(straight, never through the recorder) where they would have started a fresh one."""

import json
import os
import sys
import unittest
import urllib.parse
import urllib.request

import pandas.testing

sys.modules.setdefault("pandas.util.testing", pandas.testing)  # removed in pandas 2; the suite imports it
if not hasattr(unittest.TestCase, "assertEquals"):  # removed in Python 3.12; test_get_list_series uses it
    unittest.TestCase.assertEquals = unittest.TestCase.assertEqual

from influxdb import DataFrameClient, InfluxDBClient  # noqa: E402
from influxdb.tests.server_tests import base  # noqa: E402

HOST, PORT = urllib.parse.urlsplit(os.environ["INFLUX_CLIENT_URL"]).netloc.rsplit(":", 1)
SERVER = os.environ["INFLUX_SERVER_URL"]


def _query(q, method="GET"):
    url = SERVER + "/query?" + urllib.parse.urlencode({"q": q})
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request) as r:
        return json.load(r)["results"][0]


def _names(q):
    series = _query(q).get("series") or []
    return [row[0] for s in series for row in s.get("values") or []]


def _empty_server():
    """What a fresh influxd has: no database, no user."""
    for name in _names("SHOW DATABASES"):
        _query('DROP DATABASE "%s"' % name.replace('"', '\\\\"'), "POST")
    for name in _names("SHOW USERS"):
        _query('DROP USER "%s"' % name.replace('"', '\\\\"'), "POST")


class _Instance:
    http_port = int(PORT)
    udp_port = None

    def close(self, remove_tree=True):
        pass


def _setup_influxdb_server(inst):
    _empty_server()
    inst.influxd_inst = _Instance()
    inst.cli = InfluxDBClient(HOST, int(PORT), "root", "", database="db")
    inst.cliDF = DataFrameClient(HOST, int(PORT), "root", "", database="db")


def _setup_gzip_client(inst):
    inst.cli = InfluxDBClient(HOST, int(PORT), "root", "", database="db", gzip=True)


def _teardown_influxdb_server(inst):
    pass


base._setup_influxdb_server = _setup_influxdb_server
base._setup_gzip_client = _setup_gzip_client
base._teardown_influxdb_server = _teardown_influxdb_server
'''


# --- setup -------------------------------------------------------------------------------------------


def site() -> Path:
    return VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def setup() -> Path:
    """influxd on PATH (never run as a service) and the suite's venv; the tests' directory."""
    if not shutil.which("influxd"):
        common.apt_install(PACKAGE)
    stamp = HOME / ".installed"
    tests = site() / "influxdb" / "tests"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (tests / SUITE).is_file()):
        print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(VENV / "bin" / "python", "install", *PINS)
        if not (tests / SUITE).is_file():
            sys.exit(f"harness: influxdb {CLIENT} installed without its server tests under {tests}")
        stamp.write_text("\n".join(PINS))
    return tests


def version() -> str:
    done = subprocess.run([shutil.which("influxd"), "version"], capture_output=True, text=True)
    found = re.search(r"v(\S+)", done.stdout)
    return found.group(1) if done.returncode == 0 and found else "?"


# --- the server --------------------------------------------------------------------------------------


def start_influxd(stack: ExitStack, work: Path) -> str:
    """A fresh influxd (empty meta, data and WAL in `work`, no auth) on free ports of 127.0.0.1; its URL once
    /ping answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    rpc = free_port()
    while rpc == port:
        rpc = free_port()
    config = work / "influxdb.conf"
    config.write_text(CONFIG.format(root=work, port=port, rpc=rpc))
    log = work / "influxd.log"
    proc = start(stack, [shutil.which("influxd"), "-config", str(config)], log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/ping", proc, log, ok=(204,))
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, url: str, server: str, work: Path) -> dict:
    """influxdb-python's server tests, their clients on `url` (the recorder or the server), the server itself
    (emptied between tests, as upstream starts a new one) at `server`."""
    tests = site() / "influxdb" / "tests"
    work.mkdir(parents=True, exist_ok=True)
    (work / "influx_here.py").write_text(PLUGIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "INFLUX"))}
    env |= {"INFLUX_CLIENT_URL": url, "INFLUX_SERVER_URL": server, "PYTHONPATH": str(work), "HOME": str(work)}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    ini = work / "pytest.ini"  # the suite's own settings, not those of the project it sits under (.venv/)
    ini.write_text("[pytest]\n")
    args = [str(tests / SUITE), "-p", "influx_here", "-k", LEFT_OUT, "-c", str(ini), "--rootdir", str(work)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=work, env=env)


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names, as the suite's clients make it: a redacted
    `Authorization` as Basic of root and its empty password, any other the empty password."""
    args = []
    for name in dict.fromkeys(re.findall(r"pass --secret (\w+)=VALUE", message)):
        value = PASSWORD
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        args += ["--secret", f"{name}={value}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_influxd(stack, work / "direct" / "influxd")
            direct_run = run_suite(stack, url, url, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_influxd(stack, out / "influxd")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_suite(stack, url, server, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_influxd(stack, work / "verify" / "influxd")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh influxd
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}) and named no secret:\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_influxd(stack, work / "verify2" / "influxd")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
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
        "influxdb": version(),
        "influxdb-python": CLIENT,
        "pins": PINS,
        "suite": SUITE,
        "left_out": LEFT_OUT,
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
    sys.exit(common.main("influxdb", __doc__, phases, sys.argv[1:], setup))
