"""Record etcd's v2 HTTP API while python-etcd's own integration tests run, then verify the pact against a fresh etcd.

    .venv/bin/python bench/thirdparty/etcd.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact; it asks for nothing: the suite's
Basic credentials are for accounts the recording itself made, so verify makes them up). VERIFY_ARGS (everything
after `--`) make a second verify run on another fresh etcd with them added (verify2); a refusal (exit 2) without
them stops the harness with verify's message.

What it does, each phase timed:
  setup    etcd from Debian's `etcd-server` (3.4.x; `apt-get install` when no `etcd` is on PATH), and a venv of
           its own under .venv/thirdparty/etcd/ made with Debian's python3.11 (the suite needs < 3.12: it calls
           TestCase.assertEquals and imports nose) with python-etcd and what its tests import, pinned, from
           PyPI. python-etcd 0.4.5 has no wheel: pip builds it from the sdist, which ships src/etcd/tests, so
           the installed package has the tests (etcd/tests/integration/test_simple.py, etcd/tests/test_auth.py).
  direct   a fresh etcd (`--enable-v2`, a data dir in the work dir, its client URL 127.0.0.1:6001, its peer URL
           on a free port) and the suite run straight against it (--no-direct leaves this out).
  record   another fresh etcd, its client URL on a free port (advertised as http://127.0.0.1:6001, where its
           clients reach it), `pact-recorder record --consumer python-etcd --provider etcd` listening on
           127.0.0.1:6001 in front of it, the same tests; SIGTERM makes it write OUT/python-etcd-etcd.json.
  verify   a third fresh etcd (empty, its own URL advertised), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh etcd with what it asked for (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

How the suite is pointed at the server: every test connects with `etcd.Client(port=6001)` (host 127.0.0.1),
hard-coded, so the server (direct) or the recorder (record) listens on exactly 127.0.0.1:6001. The suite starts
its own etcd processes in setUpClass (EtcdProcessHelper: a 3-node cluster on 6001-6003, no --enable-v2, which
etcd 3.4 needs for this API) and kills them in tearDownClass; a plugin the harness writes into the work dir and
loads with `-p` (etcd_harness_server.py) turns EtcdProcessHelper.run into a no-op, so the suite uses the one
etcd the harness started, and EtcdProcessHelper.stop into ending the suite's leftover watcher processes (what
killing etcd did to them: a watcher still long-polling when its class ends). No test file is changed. Left out:
TestClusterFunctions (it kills cluster members, which a single etcd behind one proxy cannot mimic) and
test_ssl.py (TLS between client and etcd; the recorder here is plain HTTP). Every process started is stopped on
the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (etcd 3.4.23, python-etcd 0.4.5): 19 tests, 13 passed both directly and through the recorder (the
6 of test_auth.py fail the same way both ways: python-etcd 0.4.5 cannot parse etcd 3.4's v2 auth answers); 76
exchanges, 37 interactions; 26 / 37 green. Left, by class: a directory the undo cannot delete (etcd needs
`?dir=true`), so it is left over; keys as a tree (a key's parent directory made implicitly, `/directory/test-key`
read as collection `directory`); an index an earlier answer handed out (`prevIndex`, `waitIndex`) pinned; a
long-poll watch with no writer. 2 / 37 in a run whose cluster id had 15 hex digits (etcd drops leading zeros;
one run in 16), too short to be taken for an id, so `X-Etcd-Cluster-Id` was pinned.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PYTHON_ETCD = "0.4.5"
PYTHON = "python3.11"  # Debian bookworm's; the suite uses assertEquals (gone in 3.12) and nose
PINS = [
    f"python-etcd=={PYTHON_ETCD}",
    "urllib3==1.26.20",  # python-etcd 0.4.5 calls HTTPResponse.getheader
    "dnspython==2.7.0",
    "nose==1.3.7",  # the suite imports nose.tools.nottest
    "pyOpenSSL==24.2.1",  # helpers.py imports OpenSSL.crypto
    "cryptography==43.0.3",
    "cffi==2.1.1",
    "pycparser==3.12",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "etcd"
VENV = HOME / "venv"
SITE = VENV / "lib" / "python3.11" / "site-packages"
TESTS = SITE / "etcd" / "tests"
SUITE = ["integration/test_simple.py", "test_auth.py"]
LEFT_OUT = "not TestClusterFunctions"  # -k
PORT = 6001  # every test: etcd.Client(port=6001)
CONSUMER, PROVIDER = "python-etcd", "etcd"

PLUGIN = '''"""Written by bench/thirdparty/etcd.py: the suite talks to the one etcd the harness started."""
import multiprocessing

from etcd.tests.integration import helpers


def run(self, number=1, proc_args=None):
    """The harness's etcd serves on 127.0.0.1:6001 already: start none."""


def stop(self):
    """The suite killed its etcd here, which ended any watcher process still long-polling it; end them."""
    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)


helpers.EtcdProcessHelper.run = run
helpers.EtcdProcessHelper.stop = stop
'''


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """etcd on PATH and the suite's venv; the etcd binary."""
    if not shutil.which("etcd"):
        common.apt_install("etcd-server")
    if not shutil.which(PYTHON):
        common.apt_install("python3.11", "python3.11-venv")
    stamp = HOME / ".installed"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(PINS) and TESTS.is_dir()):
        print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        done = subprocess.run([shutil.which(PYTHON), "-m", "venv", str(VENV)], capture_output=True, text=True)
        if done.returncode:  # Debian's python without ensurepip
            common.apt_install("python3.11-venv")
            subprocess.run([shutil.which(PYTHON), "-m", "venv", str(VENV)], check=True)
        common.pip(VENV / "bin" / "python", "install", *PINS)
        if not (TESTS / "integration" / "test_simple.py").is_file():
            sys.exit(f"harness: python-etcd {PYTHON_ETCD} installed without its tests under {TESTS}")
        stamp.write_text("\n".join(PINS))
    return Path(shutil.which("etcd"))


# --- etcd --------------------------------------------------------------------------------------------


def start_etcd(stack: ExitStack, work: Path, port: int, advertise: str | None = None) -> str:
    """A fresh etcd (v2 API on, an empty data dir in `work`) serving clients on 127.0.0.1:port and advertising
    `advertise` (default: that URL) as its client URL; its URL once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    peer = f"http://127.0.0.1:{free_port()}"
    cmd = [shutil.which("etcd"), "--enable-v2", "--name", "harness", "--data-dir", str(work / "data")]
    cmd += ["--listen-client-urls", url, "--advertise-client-urls", advertise or url]
    cmd += ["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer]
    cmd += ["--initial-cluster", f"harness={peer}", "--initial-cluster-state", "new"]
    log = work / "etcd.log"
    proc = start(stack, cmd, log, cwd=work)
    wait_http(url + "/v2/keys/", proc, log)
    return url


def start_recorder(stack: ExitStack, target: str, out: Path) -> tuple[subprocess.Popen, Path]:
    """`pact-recorder record` on the suite's fixed address in front of `target`; (process, log) once it listens."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "record.log"
    cmd = [str(common.PACT_BIN), "record", "--consumer", CONSUMER, "--provider", PROVIDER]
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
    """python-etcd's integration tests against whatever listens on 127.0.0.1:6001."""
    plugin = work / "plugin"
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "etcd_harness_server.py").write_text(PLUGIN)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(plugin)
    args = [str(TESTS / t) for t in SUITE] + ["-k", LEFT_OUT, "-p", "etcd_harness_server", "--rootdir", str(work)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=work, env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    version = subprocess.run([shutil.which("etcd"), "--version"], capture_output=True, text=True).stdout.split()[2]
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            start_etcd(stack, work / "direct" / "etcd", PORT)
            direct_run = run_suite(stack, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        etcd = start_etcd(stack, out / "etcd", free_port(), advertise=f"http://127.0.0.1:{PORT}")
        recorder, log = start_recorder(stack, etcd, out)
        recorded = run_suite(stack, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        etcd = start_etcd(stack, work / "verify" / "etcd", free_port())
        report, outcome = common.verify_outcome(stack, pact, etcd, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh etcd
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            etcd = start_etcd(stack, work / "verify2" / "etcd", free_port())
            args = [*args, *verify_args]
            report, outcome = common.verify_outcome(stack, pact, etcd, work / "verify2", args)
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
        "etcd": version,
        "python_etcd": PYTHON_ETCD,
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
    sys.exit(common.main("etcd", __doc__, phases, sys.argv[1:], setup))
