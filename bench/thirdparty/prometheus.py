"""Record Prometheus's HTTP API while prometheus-api-client's own test suite runs, then verify the pact against a
fresh, empty Prometheus.

    .venv/bin/python bench/thirdparty/prometheus.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact: the API has no credentials). Where
it refuses to start (exit 2), that refusal and its message are the first figure; VERIFY_ARGS (everything after
`--`) make a second verify run on another fresh Prometheus with them added (verify2).

What it does, each phase timed:
  setup    Prometheus 2.42 from Debian's `prometheus` (`apt-get install` when no `prometheus` is on PATH), the
           suite from the client's repository at tag v0.7.2 (tests/, `git archive` from the git directory
           PROMETHEUS_API_CLIENT_GIT_DIR, default /work/.mirror/4n4nd+prometheus-api-client-python/repo, a clone
           of github.com/4n4nd/prometheus-api-client-python; the sdist prunes its tests) unpacked under
           .venv/thirdparty/prometheus/src/, and a venv of its own under .venv/thirdparty/prometheus/venv/ with
           prometheus-api-client 0.7.2 and what requirements.txt asks for, pinned (PINS).
  direct   a fresh Prometheus and the suite run straight against it (--no-direct leaves this out).
  record   another fresh Prometheus, `pact-recorder record --consumer prometheus-api-client --provider
           prometheus` in front of it, the same suite with PROM_URL set to the recorder's URL; SIGTERM makes it
           write OUT/prometheus-api-client-prometheus.json.
  verify   a third fresh Prometheus, `pact-recorder verify --states-from-recording`; then, refused (or with
           VERIFY_ARGS), again on a fresh one (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

Each Prometheus: a TSDB in its own work dir, a prometheus.yml that scrapes the server itself every second (job
`prometheus`, what the suite's CI's demo server has: `up`, its own metrics and their metadata), listening on
127.0.0.1 and a free port, `--web.enable-admin-api`, `--web.enable-lifecycle` off. "Fresh" and "empty" mean
no data but what it scrapes from itself: a phase starts once `/-/ready` answers and the first sample of `up` is
in (the suite's CI runs against a demo server with data; nothing of the consumer's can be there before it).
The suite is run as its CI runs it (`PROM_URL=... pytest` over tests/, unchanged): the tests of
TestPrometheusConnect talk to PROM_URL; the rest read JSON files the suite ships or mock the network with
httmock, and send nothing. Every process started is stopped on the way out, on failure and on Ctrl-C or
SIGTERM too.

The API: read-only JSON under `/api/v1/`: PromQL in `query=` (`/query`, `/query_range` with `start`, `end` as
epoch seconds and `step`; the same as a form POST when the client is made with method="POST"), label names and
values (`/labels`, `/label/<name>/values`), `/series` with repeated `match[]` selectors, `/targets` (filtered by
`state` and `scrapePool`), `/scrape_pools`, `/targets/metadata` (`match_target={job="..."}`), `/metadata`
(`metric`, `limit`, `limit_per_metric`); every answer `{"status": "success", "data": ...}`, a bad query 400
with `errorType` and `error`. Everything it answers is what the server scraped from itself: nothing a request
can make.

First contact (Prometheus 2.42.0 from Debian, prometheus-api-client 0.7.2's tests at v0.7.2): 57 tests, 55 passed
both directly and through the recorder (test_get_metric_range_data and ..._with_chunk_size fail both ways: they
want `up` samples from 10 and 65 minutes before, older than the fresh server); 71 exchanges, 37 recorded (the 34
others are the follow-ups of redirects: the suite's PROM_URL ends in `/`, so every path goes out as `//api/v1/...`,
which Prometheus redirects to `/api/v1/...`), 20 interactions (10 with a provider state). verify with
`--states-from-recording` alone asks for nothing (no credentials anywhere, nothing secret on disk): 18 / 20 green,
the same in a second run. The values a query sends from the clock (`time=1796691373`, `start`/`end` of
`/query_range`) were already sent as now + their recorded offset. Left, by class:
  - a time window in fractional epoch seconds, 1: get_series sends `start=1796687772.96426&end=1796691372.964268`
    (`str(datetime.timestamp())`), not read as a clock value (only 10 or 13 digits were), so it is sent as
    recorded and asks the fresh server for an hour it never saw: `$.data` [] where a series was.
  - a clock value also taken for a value an earlier request sent, 1: `POST /api/v1/query?query=up[600s]&time=T`
    sent T, the same second a `POST /api/v1/query_range` (a read sent as a POST, taken for a write) had sent as
    `end`; "values sent by earlier requests" then gives `time` its recorded value over the clock's, and
    `up[600s]` at a moment before the server started is empty.
Now 20 / 20: epoch seconds with a fraction are a kind of clock value (sent as now + the recorded offset, to the
microsecond), and a value taken from the clock is never one "an earlier request sent" (tests/test_first_contact.py,
Samples). Whether it goes red when the provider breaks what the consumer reads (each measured once, the pact verified
through a proxy that rewrites Prometheus's JSON): `value` renamed, 1 interaction red (0 at first contact: an instant
query's `value` was in no contract, as the URL's range answers hold `values` where they lack it; now one of two
shapes is kept, tests/test_first_contact.py TwoShapes); `values` renamed 4 (3); `metric` 5; `activeTargets` 3;
metadata's `help` 6; a list in `data` turned into an object 7; every sample sent as a number (`[t, 1.0]` for
`[t, "1"]`) 5, all that carry samples (0 before: a tuple's elements matched a number or a string at any place; now
each place keeps its type, tests/test_first_contact.py test_the_places_of_a_tuple_keep_their_own_types). In one
verification of several,
`GET /api/v1/query_range` came back empty: its window ends at a whole second, which on a server started a second
before may fall before its first sample.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

TAG = "v0.7.2"
GIT_DIR = Path(os.environ.get("PROMETHEUS_API_CLIENT_GIT_DIR", "/work/.mirror/4n4nd+prometheus-api-client-python/repo"))
PINS = [
    "prometheus-api-client==0.7.2",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "idna==3.21",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "dateparser==1.5.0",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "regex==2026.12.2",
    "tzlocal==5.4.5",
    "tzdata==2026.6",
    "pandas==3.1.2",
    "numpy==2.5.5",
    "matplotlib==3.11.2",
    "contourpy==1.4.0",
    "cycler==0.12.1",
    "fonttools==4.69.1",
    "kiwisolver==1.5.1",
    "pillow==13.0.0",
    "pyparsing==3.3.3",
    "httmock==1.4.0",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "prometheus"
VENV = HOME / "venv"
SRC = HOME / "src"
TESTS = SRC / "tests"
CONSUMER, PROVIDER = "prometheus-api-client", "prometheus"
CONFIG = """# Written by bench/thirdparty/prometheus.py
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["{target}"]
"""


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """Prometheus on PATH, the suite's tests at TAG and its venv."""
    if not shutil.which("prometheus"):
        common.apt_install("prometheus")
    stamp = HOME / ".installed"
    want = "\n".join([TAG, *PINS])
    if stamp.is_file() and stamp.read_text() == want and (TESTS / "test_prometheus_connect.py").is_file():
        return
    if not (GIT_DIR / "HEAD").is_file():
        sys.exit(f"harness: no prometheus-api-client git directory at {GIT_DIR}: set PROMETHEUS_API_CLIENT_GIT_DIR "
                 "to (the .git of) a clone of https://github.com/4n4nd/prometheus-api-client-python that has the "
                 "tag " + TAG)  # fmt: skip
    print(f"setup: {TAG}:tests and {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    SRC.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(GIT_DIR), "archive", TAG, "tests"], capture_output=True)
    if archive.returncode:
        sys.exit(f"harness: git archive {TAG} failed:\n{archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(SRC)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text(want)


# --- the server --------------------------------------------------------------------------------------


def start_prometheus(stack: ExitStack, work: Path) -> str:
    """A fresh Prometheus in `work` scraping itself; its URL once it is ready and has its first sample of `up`."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (work / "prometheus.yml").write_text(CONFIG.format(target=f"127.0.0.1:{port}"))
    cmd = [shutil.which("prometheus"), f"--config.file={work / 'prometheus.yml'}"]
    cmd += [f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}"]
    cmd += ["--web.enable-admin-api", "--log.level=warn"]
    log = work / "prometheus.log"
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/-/ready", proc, log)
    deadline = time.monotonic() + common.READY_SECONDS
    while time.monotonic() < deadline:  # the first scrape comes within one interval of the start
        with urllib.request.urlopen(url + "/api/v1/query?query=up", timeout=2) as r:
            if json.load(r)["data"]["result"]:
                return url
        time.sleep(0.1)  # poll interval, not synchronisation
    raise RuntimeError(f"Prometheus scraped nothing within {common.READY_SECONDS}s:\n{tail(log)}")


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, work: Path, url: str) -> dict:
    """The client's tests, as its CI runs them, against `url` (the server's, or the recorder's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PROM_URL": url + "/", "MPLBACKEND": "Agg", "NO_PROXY": "*"}
    args = [str(TESTS), "--rootdir", str(SRC)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=SRC, env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    version = subprocess.run([shutil.which("prometheus"), "--version"], capture_output=True, text=True)
    version = (version.stdout + version.stderr).split()[2] if version.returncode == 0 else "?"
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_prometheus(stack, work / "direct" / "prometheus")
            direct_run = run_suite(stack, work / "direct", url)
    out = work / "record"
    out.mkdir(parents=True, exist_ok=True)
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_prometheus(stack, out / "prometheus")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_suite(stack, out, url)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_prometheus(stack, work / "verify" / "prometheus")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh server
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_prometheus(stack, work / "verify2" / "prometheus")
            args = [*args, *verify_args]
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
        "prometheus": version,
        "suite": f"4n4nd/prometheus-api-client-python {TAG} tests",
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
    sys.exit(common.main("prometheus", __doc__, phases, sys.argv[1:], setup))
