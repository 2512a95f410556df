"""Record Prometheus Alertmanager's API v2 while its own CLI, amtool, runs an operator's session against it,
then verify the pact against a fresh, empty Alertmanager.

    .venv/bin/python bench/thirdparty/alertmanager.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names (this Alertmanager has no
authentication, so VALUE is only a placeholder).

What it does, each phase timed:
  setup    Debian's `prometheus-alertmanager` (0.25: the provider, `prometheus-alertmanager`, and the consumer,
           `amtool`, in the same package), with `apt-get install` when missing. The system service is never
           started or used: where no /usr/sbin/policy-rc.d exists the install runs under one of the harness's
           that denies every start (exit 101), removed afterwards. No venv: nothing comes from PyPI.
  direct   a fresh Alertmanager and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Alertmanager, `pact-recorder record --consumer amtool --provider alertmanager` in front
           of it, the same session pointed at the recorder; SIGTERM makes it write OUT/amtool-alertmanager.json.
  verify   a third fresh Alertmanager (empty: no silence, no alert), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each Alertmanager is `prometheus-alertmanager --config.file=FILE --storage.path=DIR
--web.listen-address=127.0.0.1:PORT --cluster.listen-address=` (no cluster, no gossip port) with a config of the
harness's in its own work dir: a root route to a receiver with no integrations (nothing is ever sent anywhere),
grouped by alertname, and two child routes (critical alerts, one team's) to two more such receivers.

The API: the OpenAPI-generated JSON API v2: `GET /api/v2/status` (the config, the cluster, the version: amtool
reads it first for `config`, `cluster` and route tests), `GET|POST /api/v2/silences` (a POST answers the new or
updated silence's UUID; GET filtered by `filter=` matchers in the query), `GET|DELETE /api/v2/silence/{id}` (a
DELETE expires it), `GET|POST /api/v2/alerts` (alerts with labels, annotations, start and end times; GET
filtered by `filter=` and by `silenced`, `inhibited`, `active`, `unprocessed` flags); times in the bodies.

The session is an operator's shell script: each `amtool --alertmanager.url=URL ARGS` is one "test" (passed: the
exit code it is expected to have; 0, or 1 for the refusals the session provokes on purpose: expiring an unknown
silence id (answered 500) and one that is no UUID (422), a silence whose only matcher matches the empty string
(400), an alert query with a matcher the server cannot parse (400), an update of an unknown id (404), and three
refused by amtool itself before any request: no comment, a start after the end, a regex that does not compile).
It reads the config, the routing tree and tests a route, reads the cluster status; adds silences (matchers
equal, not-equal and regex, comments, authors, durations, one starting in the future), queries them (table,
ids only with -q, JSON, extended, by matchers, expired ones), updates one, expires them by the ids amtool printed
when it added them (parsed from its stdout, as an operator's script would), imports the JSON an earlier query
wrote (as it is: updates and recreations; then with --force: all new); adds alerts with labels, annotations, a
generator URL, a start time, and queries them (all, extended, JSON, by matchers, silenced ones after silencing
one). Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

Why amtool: it is Alertmanager's own CLI, versioned with it and shipped in the same Debian package, built on the
Go client the API's OpenAPI spec generates; no Python client of this API ships tests that run against a live
Alertmanager without a download.

First contact (Alertmanager and amtool 0.25.0, Debian 0.25.0-1+b4): 52 commands, 52 / 52 with their expected
exit code both directly and through the recorder (the same exit code each); 108 exchanges, 107 recorded (the 500
that expiring an unknown id gets is left out by the `server-errors` rule; 55 are the `GET /api/v2/status` every
amtool command sends first to check the version), 14 interactions (10 with a provider state). verify with
`--states-from-recording` alone runs (nothing redacted: no secret asked for): 12 / 14 green. Left, by class: a
write by a handle (DELETE of `/collection-item/{id}`) whose "exists" state gets no setup, though the POST to the
collection that handed the id out in its response body (`{"silenceID": ...}`) was recorded: the recorded id is
sent as it is to a provider that never had it (answered 500, this provider's "not found" for a delete), 1; a read
by a handle whose setup does run the POST that hands one out, but the new id is captured under the setup state's
parameter (`id`) while the request path is generated from the other state's (`silence`), so the path keeps the
recorded id (404) and the setup's resource is never read, 1. Green by design rather than by evidence: the alert
listings' state is "no alerts exist" (an empty list was seen first, so the array is matched with min 0), and the
POST that put alerts there hands out no handle to set them up by, so they verify against an empty provider.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGE = "prometheus-alertmanager"  # Debian bookworm: 0.25.0
SERVER, AMTOOL = "prometheus-alertmanager", "amtool"
CONSUMER, PROVIDER = "amtool", "alertmanager"
COMMAND_SECONDS = 60
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
CONFIG = """\
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: pager
      matchers: ['severity="critical"']
    - receiver: storage-team
      matchers: ['team="storage"']
      continue: true
receivers:
  - name: blackhole
  - name: pager
  - name: storage-team
"""


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """prometheus-alertmanager and amtool installed (Alertmanager never run as a service)."""
    if not all(shutil.which(tool) for tool in (SERVER, AMTOOL)):
        common.apt_install(PACKAGE)


def version() -> str:
    done = subprocess.run([shutil.which(SERVER) or SERVER, "--version"], capture_output=True, text=True)
    m = re.search(r"version (\S+)", done.stdout + done.stderr)
    return m.group(1) if m else "?"


# --- the server --------------------------------------------------------------------------------------


def start_alertmanager(stack: ExitStack, work: Path) -> str:
    """A fresh Alertmanager of its own (config, storage, port) in `work`; its URL once it is ready."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "alertmanager.yml"
    config.write_text(CONFIG)
    (work / "data").mkdir(exist_ok=True)
    port = free_port()
    cmd = [shutil.which(SERVER) or SERVER, f"--config.file={config}", f"--storage.path={work / 'data'}"]
    cmd += [f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=info"]
    log = work / "alertmanager.log"
    proc = start(stack, cmd, log, cwd=work, env=os.environ | {"HOME": str(work)})
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/-/ready", proc, log)
    return url


# --- the amtool session --------------------------------------------------------------------------------


class Session:
    """Runs `amtool --alertmanager.url=URL` commands, each a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.url = url
        self.work = work
        self.log = work / "amtool.log"
        drop = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        self.env["HOME"] = str(work)  # no ~/.config/prometheus/amtool.yml of the user's
        self.results: list[dict] = []

    def amtool(self, *args: str, expect: int = 0) -> str:
        """`amtool --alertmanager.url=URL ARGS`; its stdout."""
        shown = " ".join(args)
        cmd = [shutil.which(AMTOOL) or AMTOOL, f"--alertmanager.url={self.url}", *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ amtool {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        result = {"command": shown, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        return out.decode(errors="replace")

    def add(self, *args: str) -> str:
        """`silence add ARGS`; the id it printed (as a script would take it), or a placeholder if none."""
        ids = UUID.findall(self.amtool("silence", "add", *args))
        return ids[-1] if ids else "00000000-0000-0000-0000-00000000dead"

    def counts(self) -> dict:
        passed = sum(r["ok"] for r in self.results)
        return {
            "tests": len(self.results),
            "passed": passed,
            "failed": len(self.results) - passed,
            "errors": 0,
            "skipped": 0,
            "failing": [r["command"] for r in self.results if not r["ok"]],
            "commands": self.results,
        }


def run_session(url: str, work: Path) -> dict:
    """An operator's session against the Alertmanager at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    now = datetime.now(UTC).replace(microsecond=0)

    def at(hours: float) -> str:
        return (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # what is there
    s.amtool("config", "show")
    s.amtool("config", "routes")
    s.amtool("config", "routes", "test", "severity=critical", "--verify.receivers=pager")
    s.amtool("config", "routes", "test", "team=storage", "severity=warning", "--tree")
    s.amtool("cluster", "show")
    s.amtool("silence", "query")
    s.amtool("alert", "query")
    # silences
    disk = s.add("alertname=DiskFull", "instance=db1", "--comment=disk swap on db1", "--author=alice", "-d", "2h")
    cpu = s.add("alertname=~Cpu.*", "env=staging", "--comment=load test", "--author=bob", "--duration=30m")
    backup = s.add(
        "job=backup", "severity!=critical", "--comment=nightly window", "--author=alice", f"--start={at(1)}",
        f"--end={at(3)}",
    )  # fmt: skip
    deploy = s.add("service=api", "env=~prod|canary", "--comment=deploy 4.2", "--author=carol", "-d", "1h")
    s.amtool("silence", "query")
    s.amtool("silence", "query", "-q")
    exported = s.amtool("silence", "query", "-o", "json")
    (work / "silences.json").write_text(exported)
    s.amtool("silence", "query", "alertname=DiskFull")
    s.amtool("silence", "query", "-o", "extended", "alertname=~Cpu.*")
    s.amtool("silence", "query", "-o", "json", "service=api")
    s.amtool("silence", "update", deploy, "--comment=deploy 4.2, extended", "--duration=3h")
    s.amtool("silence", "query", "-o", "extended", "service=api")
    s.amtool("silence", "expire", cpu)
    s.amtool("silence", "query", "--expired", "-q")
    s.amtool("silence", "query", "--expired", "-o", "json")
    s.amtool("silence", "expire", disk, deploy)
    s.amtool("silence", "query", "-q")
    s.amtool("silence", "import", str(work / "silences.json"))  # the pending one updated, the expired recreated
    s.amtool("silence", "import", "--force", str(work / "silences.json"))  # all new
    s.amtool("silence", "query", "-o", "json", "job=backup")
    # alerts
    s.amtool(
        "alert", "add", "alertname=DiskFull", "instance=db1", "severity=warning", "team=storage",
        "--annotation=summary=disk 91% full", "--annotation=runbook=https://runbooks.example/disk",
    )  # fmt: skip
    s.amtool(
        "alert", "add", "alertname=CpuHigh", "env=staging", "severity=critical", "--annotation=summary=load 12",
        "--generator-url=http://prometheus.example/graph?g0.expr=load1", f"--start={at(-0.5)}",
    )  # fmt: skip
    s.amtool("alert", "add", "alertname=BackupFailed", "job=backup", "severity=warning", f"--end={at(2)}")
    s.amtool("alert", "add", "alertname=Heartbeat", "severity=none", "--annotation=summary=always firing")
    s.amtool("alert", "query")
    s.amtool("alert", "query", "-o", "extended")
    s.amtool("alert", "query", "-o", "json")
    s.amtool("alert", "query", "alertname=DiskFull")
    s.amtool("alert", "query", "severity=critical", "-o", "extended")
    s.amtool("alert", "query", "alertname=~Cpu.*|Disk.*")
    muted = s.add("alertname=Heartbeat", "--comment=known noise", "--author=dave", "-d", "4h")
    s.amtool("alert", "query", "--silenced", "alertname=Heartbeat")
    s.amtool("alert", "query", "--inhibited")
    s.amtool("alert", "query", "--active", "-o", "json")
    # refusals on purpose
    s.amtool("silence", "expire", "0b7d5c3e-1f2a-4b6c-9d8e-7f6a5b4c3d2e", expect=1)  # unknown: 500
    s.amtool("silence", "expire", "not-a-silence-id", expect=1)  # no UUID: 422
    s.amtool("silence", "add", 'instance=""', "--comment=matches everything", expect=1)  # 400
    s.amtool("alert", "query", '{foo=~"a("}', expect=1)  # the server cannot parse it: 400
    s.amtool("silence", "update", "0b7d5c3e-1f2a-4b6c-9d8e-7f6a5b4c3d2e", "--duration=1h", expect=1)  # 404
    s.amtool("silence", "add", "alertname=NoComment", expect=1)  # refused by amtool: comment required
    s.amtool("silence", "add", "foo=bar", "--comment=x", f"--start={at(3)}", f"--end={at(1)}", expect=1)
    s.amtool("silence", "add", "foo=bar", "baz=~a(", "--comment=bad regex", expect=1)  # refused by amtool
    # tidying up
    s.amtool("silence", "expire", muted, backup)
    s.amtool("silence", "query")
    s.amtool("alert", "query", "--silenced")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names (Alertmanager has no authentication: a placeholder)."""
    return [a for name in re.findall(r"^\s+([\w.-]+): needed by", message, re.M) for a in ("--secret", f"{name}=x")]


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_alertmanager(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_alertmanager(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_alertmanager(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_alertmanager(stack, work / "verify2" / "server")
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
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "alertmanager": version(),
        "consumer": "amtool (Alertmanager's own CLI)",
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
    sys.exit(common.main("alertmanager", __doc__, phases, sys.argv[1:], setup))
